"""The audit trail over the API: auditors and admins only.

The list, verify and export answer 403 to everyone else (the trail's existence is no
secret, reading it is); a single event answers 404, like any object one may not see.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from remediation import permissions
from remediation.api.audit_serializers import (
    AuditEventSerializer,
    ChainReportSerializer,
    ExportQuerySerializer,
)
from remediation.api.base import (
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    error,
)
from remediation.api.filters import AuditEventFilter
from remediation.audit_export import audit_csv_lines, audit_jsonl_lines
from remediation.models import AuditEvent
from remediation.selectors import audit_events_visible_to
from remediation.services.audit import audit_chain_verify
from remediation.services.errors import NotAllowed, ValidationFailed

TAGS = ["audit"]
AUDITORS_ONLY = error("Only auditors and admins can read the audit trail.")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


class FormatIsAFileType(DefaultContentNegotiation):
    """On the export `?format=` names the file type, not a DRF renderer; errors stay JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def _require_auditor(request: Request) -> None:
    if not permissions.can_view_audit(request.user):
        raise NotAllowed("Only auditors and admins can read the audit trail.")


@extend_schema_view(
    list=extend_schema(
        summary="Audit events (auditor, admin; 403 for other roles)",
        responses={200: AuditEventSerializer(many=True), 403: AUDITORS_ONLY},
    ),
    retrieve=extend_schema(
        summary="One audit event (auditor, admin; 404 for other roles)",
        responses={200: AuditEventSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = AuditEventSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    filterset_class = AuditEventFilter
    ordering_fields = ["seq", "created_at"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_events_visible_to(self.request.user)

    def get_object(self) -> AuditEvent:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_auditor(request)
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Verify the hash chain (auditor, admin)",
        request=None,
        responses={200: ChainReportSerializer, 403: AUDITORS_ONLY},
    )
    @action(detail=False, methods=["get", "post"])
    def verify(self, request: Request) -> Response:
        _require_auditor(request)
        return Response(audit_chain_verify().to_dict())

    @extend_schema(
        summary="Download the (filtered) trail as CSV or JSON Lines, streamed (auditor, admin)",
        filters=True,
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["csv", "jsonl"], description="Default csv."
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.STR),
            (400, "application/json"): error("Unknown format or filter value."),
            (403, "application/json"): AUDITORS_ONLY,
        },
    )
    @action(
        detail=False,
        methods=["get"],
        content_negotiation_class=FormatIsAFileType,
        filter_backends=[DjangoFilterBackend],
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        _require_auditor(request)
        query = ExportQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ValidationFailed("format: choose csv or jsonl.", dict(query.errors))
        file_type = query.validated_data["format"]
        events = self.filter_queryset(self.get_queryset()).order_by("seq")
        lines = audit_csv_lines(events) if file_type == "csv" else audit_jsonl_lines(events)
        response = StreamingHttpResponse(lines, content_type=MEDIA_TYPES[file_type])
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{file_type}"'
        return response
