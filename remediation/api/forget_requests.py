"""Forget requests over the API: list, file, read, and every transition of the lifecycle.

Each view starts from the requests visible to the user (an unseen request is a 404),
parses its input, and calls the service, which checks the actor's role and the
request's state; the exception handler turns a refusal into 400/403/409.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from remediation import permissions
from remediation.api.audit_serializers import AuditEventSerializer
from remediation.api.base import (
    ACTION_ERRORS,
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    parse,
)
from remediation.api.filters import ForgetRequestFilter
from remediation.api.forget_request_serializers import (
    ExtendSerializer,
    ForgetRequestCreateSerializer,
    ForgetRequestDetailSerializer,
    ForgetRequestListSerializer,
    ItemInSerializer,
    ItemsFileSerializer,
    OptionalReasonSerializer,
    ReasonSerializer,
    ReviewSerializer,
    items_from,
)
from remediation.models import ForgetRequest
from remediation.selectors import forget_requests_visible_to, request_timeline
from remediation.services import forget_requests as services
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.item_files import ItemInput, parse_items_file

TAGS = ["requests"]


def _detail(request: Request, forget_request: ForgetRequest, code: int = 200) -> Response:
    serializer = ForgetRequestDetailSerializer(forget_request, context={"request": request})
    return Response(serializer.data, status=code)


def _items_from_upload(request: Request) -> list[ItemInput]:
    """Items from a multipart `file` (CSV/JSONL) or a JSON list of items."""
    if not request.content_type.startswith("multipart/"):
        return items_from(parse(ItemInSerializer, request, many=True, allow_empty=False))
    upload = parse(ItemsFileSerializer, request)["file"]
    limit = settings.UNLEARN_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationFailed(
            f"The file is larger than {limit // 1024} KiB.", {"file": ["Too large."]}
        )
    return parse_items_file(upload.name or "", upload.read())


def _create(request: Request) -> ForgetRequest:
    data = parse(ForgetRequestCreateSerializer, request)
    submit = data.pop("submit")
    # One transaction: a request that was to be submitted right away but could not be
    # is not left behind as a draft.
    with transaction.atomic():
        forget_request = services.forget_request_create(
            actor=request.user, **{**data, "items": items_from(data["items"])}
        )
        if submit:
            services.forget_request_submit(request=forget_request, actor=request.user)
    return forget_request


@extend_schema_view(
    list=extend_schema(
        summary="The forget requests you may see",
        responses=ForgetRequestListSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="One forget request; items redacted unless your role may read them",
        responses={200: ForgetRequestDetailSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class ForgetRequestViewSet(viewsets.GenericViewSet):
    queryset = ForgetRequest.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = ForgetRequestDetailSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    filterset_class = ForgetRequestFilter
    ordering_fields = ["created_at", "due_on", "status"]
    # Explicit: Meta.ordering is not applied to the list's GROUP BY (item count) query.
    ordering = ["-created_at", "-pk"]

    def get_queryset(self) -> QuerySet[ForgetRequest]:
        return forget_requests_visible_to(self.request.user)

    def get_object(self) -> ForgetRequest:
        # Not narrowed by the list's query filters: any visible request can be acted on.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        queryset = self.get_queryset().annotate(item_count=Count("items"))
        queryset = self.filter_queryset(queryset.prefetch_related("models_in_scope"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ForgetRequestListSerializer(page, many=True).data)

    @extend_schema(
        summary="File a forget request (requester); `submit: true` submits it at once",
        request=ForgetRequestCreateSerializer,
        responses={
            201: ForgetRequestDetailSerializer,
            400: ACTION_ERRORS[400],
            403: ACTION_ERRORS[403],
        },
    )
    def create(self, request: Request) -> Response:
        if not permissions.can_create_request(request.user):
            raise NotAllowed("Only requesters can file forget requests.")
        return _detail(request, _create(request), status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _detail(request, self.get_object())

    @extend_schema(
        summary="Add items to your draft: a JSON list, or a CSV/JSONL file upload",
        request={
            "application/json": ItemInSerializer(many=True),
            "multipart/form-data": ItemsFileSerializer,
        },
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser])
    def items(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        items = _items_from_upload(request)
        services.forget_request_add_items(request=forget_request, actor=request.user, items=items)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Submit your draft for review",
        request=None,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        services.forget_request_submit(request=forget_request, actor=request.user)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Review a submitted request (reviewer, not its requester)",
        request=ReviewSerializer,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        data = parse(ReviewSerializer, request)
        services.forget_request_review(request=forget_request, actor=request.user, **data)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Approve a reviewed request (approver; never its requester or reviewer)",
        request=None,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        services.forget_request_approve(request=forget_request, actor=request.user)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Reject with a reason (reviewer when submitted, approver in review)",
        request=ReasonSerializer,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        data = parse(ReasonSerializer, request)
        services.forget_request_reject(request=forget_request, actor=request.user, **data)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Withdraw an open request (its requester, or an admin)",
        request=OptionalReasonSerializer,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        data = parse(OptionalReasonSerializer, request)
        services.forget_request_cancel(request=forget_request, actor=request.user, **data)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Extend the deadline once, by 1–2 months (reviewer or approver)",
        request=ExtendSerializer,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        data = parse(ExtendSerializer, request)
        services.forget_request_extend(request=forget_request, actor=request.user, **data)
        return _detail(request, forget_request)

    @extend_schema(
        summary="Crypto-shred the items of a closed request (admin)",
        request=None,
        responses={200: ForgetRequestDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def shred(self, request: Request, pk: str) -> Response:
        forget_request = self.get_object()
        services.forget_request_shred(request=forget_request, actor=request.user)
        return _detail(request, forget_request)

    @extend_schema(
        summary="The audit events of a request, oldest first",
        responses={200: AuditEventSerializer(many=True), 404: NOT_VISIBLE},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request: Request, pk: str) -> Response:
        events = request_timeline(self.get_object()).order_by("seq")
        return Response(AuditEventSerializer(events, many=True).data)
