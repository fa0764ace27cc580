from django.contrib.auth import views as auth_views
from django.urls import path

from remediation.views import audit, home, registry, reports, requests, runs

urlpatterns = [
    path("", home.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/token/", home.api_token, name="api_token"),
    path("requests/", requests.request_list, name="request_list"),
    path("requests/new/", requests.request_new, name="request_new"),
    path("requests/<int:pk>/", requests.request_detail, name="request_detail"),
    path("requests/<int:pk>/scan/", runs.scan_new, name="scan_new"),
    path("requests/<int:pk>/<str:action>/", requests.request_action, name="request_action"),
    path("scans/<int:pk>/", runs.scan_detail, name="scan_detail"),
    path("runs/", runs.run_list, name="run_list"),
    path("runs/new/", runs.run_new, name="run_new"),
    path("runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/signoff/", reports.run_signoff_view, name="run_signoff"),
    path("runs/<int:pk>/<str:action>/", runs.run_action, name="run_action"),
    path("reports/", reports.report_list, name="report_list"),
    path("reports/verify/", reports.report_verify, name="report_verify"),
    path("reports/public-key.pem", reports.public_key, name="report_public_key"),
    path("reports/<int:pk>/", reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/report.json", reports.report_json, name="report_json"),
    path("reports/<int:pk>/report.pdf", reports.report_pdf, name="report_pdf"),
    path("models/", registry.model_list, name="model_list"),
    path("models/register/", registry.model_register, name="model_register"),
    path("models/<int:pk>/", registry.model_detail, name="model_detail"),
    path("versions/<int:pk>/", registry.version_detail, name="version_detail"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.<str:fmt>", audit.audit_export, name="audit_export"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
]
