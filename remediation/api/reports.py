"""Compliance reports over the API: summaries, the signed document, the PDF, verification
of an uploaded report, and the public key that checks the signatures.

A report is visible to whoever may see its run; any other is a 404. Verifying and reading
the public key need only a signed-in user: a verdict discloses nothing the file did not.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from remediation.api.base import (
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    error,
    parse,
)
from remediation.api.report_serializers import (
    PublicKeySerializer,
    ReportSerializer,
    ReportUploadSerializer,
    VerificationSerializer,
)
from remediation.models import ComplianceReport
from remediation.selectors import reports_visible_to
from remediation.services.errors import ValidationFailed
from remediation.services.reports import report_verify_upload, site_public_key_pem

TAGS = ["reports"]
MAX_REPORT_UPLOAD = 20 * 1024 * 1024


class AnyAccept(DefaultContentNegotiation):
    """A download answers in its own media type whatever `Accept` or `?format=` asks
    (`Accept: application/pdf` is no reason for a 406); its errors stay JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def _download(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@extend_schema_view(
    list=extend_schema(summary="The compliance reports you may see (those of your runs)"),
    retrieve=extend_schema(
        summary="One report's summary: id, run, issue time, digest and signing key",
        responses={200: ReportSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class ReportViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ComplianceReport.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = ReportSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    ordering_fields = ["issued_at"]
    ordering = ["-issued_at", "-pk"]

    def get_queryset(self) -> QuerySet[ComplianceReport]:
        return reports_visible_to(self.request.user).select_related("run")

    def get_object(self) -> ComplianceReport:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        summary="The signed JSON document (bundle, digest, signature, public key), as stored",
        responses={200: OpenApiTypes.OBJECT, 404: NOT_VISIBLE},
    )
    @action(detail=True, methods=["get"], content_negotiation_class=AnyAccept)
    def document(self, request: Request, pk: str) -> HttpResponse:
        report = self.get_object()
        # The stored text, byte for byte what was signed: no re-encoding on the way out.
        filename = f"report-{report.report_id}.json"
        return _download(report.document_json, "application/json", filename)

    @extend_schema(
        summary="The report as PDF, with the signed document attached as evidence.json",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (404, "application/json"): NOT_VISIBLE,
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=AnyAccept)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        from remediation.reports.pdf import render_report_pdf  # WeasyPrint: only when asked

        report = self.get_object()
        body = render_report_pdf(report.document)
        return _download(body, "application/pdf", f"report-{report.report_id}.pdf")

    @extend_schema(
        summary="Verify an uploaded report (PDF or JSON): our signature and our audit chain",
        request={"multipart/form-data": ReportUploadSerializer},
        responses={
            200: VerificationSerializer,
            400: error("No file, an empty one, or one larger than 20 MiB."),
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def verify(self, request: Request) -> Response:
        upload = parse(ReportUploadSerializer, request)["file"]
        if upload.size > MAX_REPORT_UPLOAD:
            raise ValidationFailed("The file is larger than 20 MiB.", {"file": ["Too large."]})
        result = report_verify_upload(upload.read())
        return Response(_verdict(result))

    @extend_schema(
        summary="The public key (PEM) that checks the signatures of this site's reports",
        responses=PublicKeySerializer,
    )
    @action(detail=False, methods=["get"], url_path="public-key", filter_backends=[])
    def public_key(self, request: Request) -> Response:
        return Response({"public_key": site_public_key_pem()})


def _verdict(result: Any) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "reasons": list(result.reasons),
        "digest": result.digest,
        "key_id": result.key_id,
    }
