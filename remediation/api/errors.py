"""Turn service refusals into clear API errors (never a 500)."""

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from remediation.services.errors import (
    InvalidTransition,
    ItemsUnavailable,
    NotAllowed,
    ServiceError,
    ValidationFailed,
)

STATUS_FOR = {
    NotAllowed: status.HTTP_403_FORBIDDEN,
    InvalidTransition: status.HTTP_409_CONFLICT,
    ItemsUnavailable: status.HTTP_410_GONE,
    ValidationFailed: status.HTTP_400_BAD_REQUEST,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, ValidationFailed) and exc.errors:
            body["errors"] = exc.errors
        return Response(body, status=STATUS_FOR.get(type(exc), status.HTTP_400_BAD_REQUEST))
    return drf_exception_handler(exc, context)
