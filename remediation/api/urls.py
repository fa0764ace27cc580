"""The REST API under /api/, its OpenAPI schema and its documentation (served locally)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from remediation.api.audit import AuditEventViewSet
from remediation.api.docs import RedocView, SchemaView, SwaggerView
from remediation.api.forget_requests import ForgetRequestViewSet
from remediation.api.registry import MLModelViewSet, ModelVersionViewSet
from remediation.api.reports import ReportViewSet
from remediation.api.runs import MethodsView, RunViewSet
from remediation.api.scans import ScanViewSet
from remediation.api.tokens import TokenView

router = SimpleRouter()
router.register("requests", ForgetRequestViewSet, basename="api-request")
router.register("models", MLModelViewSet, basename="api-model")
router.register("model-versions", ModelVersionViewSet, basename="api-model-version")
router.register("audit", AuditEventViewSet, basename="api-audit")
router.register("scans", ScanViewSet, basename="api-scan")
router.register("runs", RunViewSet, basename="api-run")
router.register("reports", ReportViewSet, basename="api-report")

urlpatterns = [
    path("token/", TokenView.as_view(), name="api_token_obtain"),
    path("methods/", MethodsView.as_view(), name="api_methods"),
    path("schema/", SchemaView.as_view(), name="api_schema"),
    path("docs/", SwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("redoc/", RedocView.as_view(url_name="api_schema"), name="api_redoc"),
    *router.urls,
]
