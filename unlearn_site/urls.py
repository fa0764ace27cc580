from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("remediation.api.urls")),
    path("", include("remediation.views.urls")),
]
