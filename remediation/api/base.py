"""What every API view shares: JSON in and out, parsing into service errors, error shapes."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from remediation.services.errors import ValidationFailed

# JSON only: the pages are the HTML interface, so the API needs neither the browsable
# renderer nor form parsing (and each one more is one more way to send a malformed body).
API_RENDERERS = [JSONRenderer]
API_PARSERS = [JSONParser]
# Token first, so a request without credentials gets 401 with `WWW-Authenticate: Token`;
# a session still works (and still needs its CSRF token on unsafe methods).
API_AUTHENTICATION = [TokenAuthentication, SessionAuthentication]
# The largest id a BigAutoField holds; bigger numbers cannot name a row (and overflow
# SQLite's integers in an IN lookup).
MAX_ID = 2**63 - 1
MAX_REASON_CHARS = 2000


class Pagination(PageNumberPagination):
    """Pages of PAGE_SIZE; a client may ask for up to MAX_PAGE_SIZE with ?page_size=."""

    page_size_query_param = "page_size"
    max_page_size = 500


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words for a person.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Field name → messages, when the input was not valid.",
    )


class TextField(serializers.CharField):
    """A CharField that takes only JSON strings: 42 is not a subject reference."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


NOT_VISIBLE = error("No such object, or you may not see it.")
ACTION_ERRORS = {
    400: error("The input is not valid; nothing was changed."),
    403: error("Your role, or your relation to the request in its state, does not allow this."),
    404: NOT_VISIBLE,
    409: error("The request changed state meanwhile (someone else acted on it first)."),
}


def _first_message(errors: Any) -> str:
    """The first message in DRF's nested error structure, for the summary line."""
    path = []
    while isinstance(errors, dict | list) and errors:
        if isinstance(errors, dict):
            key = next(iter(errors))
            path.append(str(key))
            errors = errors[key]
        else:
            index = next((i for i, e in enumerate(errors) if e), 0)
            if isinstance(errors[index], dict):
                path.append(str(index + 1))  # items are numbered from 1, as on the pages
            errors = errors[index]
    where = ".".join(p for p in path if p != "non_field_errors")
    message = str(errors) if errors else "The input is not valid."
    return f"{where}: {message}" if where else message


def parse(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> Any:
    """Validated input, or ValidationFailed (400) naming the fields that are wrong."""
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    if serializer.is_valid():
        return serializer.validated_data
    errors = serializer.errors
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors}
    raise ValidationFailed(_first_message(errors), dict(errors))
