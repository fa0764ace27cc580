"""The schema and its documentation pages, for signed-in users, with no asset from a CDN."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import engines
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from remediation.api.base import API_AUTHENTICATION

# drf-spectacular's Redoc page loads web fonts from Google; this one uses the browser's.
REDOC_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <title>{{ title }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="{{ schema_url }}"></redoc>
    <script src="{{ redoc_standalone }}"></script>
  </body>
</html>
"""


class SchemaView(SpectacularAPIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]


class SwaggerView(SpectacularSwaggerView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]


class RedocView(SpectacularRedocView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = {
            "title": self.title,
            "schema_url": self._get_schema_url(request),
            "redoc_standalone": self._redoc_standalone(),
        }
        return HttpResponse(engines["django"].from_string(REDOC_PAGE).render(context, request))
