"""Leak scans over the API: start one (operator), list them, read one with its rows.

A scan follows its request's visibility: a scan of a request you may not see is a 404.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from remediation.api.base import (
    ACTION_ERRORS,
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    parse,
)
from remediation.api.filters import ScanFilter
from remediation.api.scan_serializers import (
    ScanDetailSerializer,
    ScanListSerializer,
    ScanStartSerializer,
)
from remediation.models import LeakScan
from remediation.selectors import scans_visible_to
from remediation.services.scans import scan_start

TAGS = ["scans"]


def _detail(request: Request, scan: LeakScan, code: int = 200) -> Response:
    return Response(ScanDetailSerializer(scan, context={"request": request}).data, status=code)


@extend_schema_view(
    list=extend_schema(
        summary="The leak scans you may see (those of the requests you may see)",
        responses=ScanListSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="One scan with a row per item; item text only if your role may read it",
        responses={200: ScanDetailSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class ScanViewSet(viewsets.GenericViewSet):
    queryset = LeakScan.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = ScanDetailSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    filterset_class = ScanFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self) -> QuerySet[LeakScan]:
        return scans_visible_to(self.request.user).select_related("created_by")

    def get_object(self) -> LeakScan:
        scans = self.get_queryset().select_related("request")
        return get_object_or_404(scans, pk=self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ScanListSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _detail(request, self.get_object())

    @extend_schema(
        summary="Scan a model version for an approved request's items (operator)",
        request=ScanStartSerializer,
        responses={201: ScanDetailSerializer, 400: ACTION_ERRORS[400], 403: ACTION_ERRORS[403]},
    )
    def create(self, request: Request) -> Response:
        data = parse(ScanStartSerializer, request)
        scan = scan_start(actor=request.user, **data)
        return _detail(request, scan, status.HTTP_201_CREATED)
