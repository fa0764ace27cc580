from django.contrib.auth import views as auth_views
from django.urls import path

from remediation.views import audit, home, registry, requests

urlpatterns = [
    path("", home.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/token/", home.api_token, name="api_token"),
    path("requests/", requests.request_list, name="request_list"),
    path("requests/new/", requests.request_new, name="request_new"),
    path("requests/<int:pk>/", requests.request_detail, name="request_detail"),
    path(
        "requests/<int:pk>/<str:action>/",
        requests.request_action,
        name="request_action",
    ),
    path("models/", registry.model_list, name="model_list"),
    path("models/register/", registry.model_register, name="model_register"),
    path("models/<int:pk>/", registry.model_detail, name="model_detail"),
    path("versions/<int:pk>/", registry.version_detail, name="version_detail"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.<str:fmt>", audit.audit_export, name="audit_export"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
]
