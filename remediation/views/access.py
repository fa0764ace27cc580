"""Small helpers every page uses to decide access: unseen means 404."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from remediation.models import ForgetRequest
from remediation.selectors import forget_requests_visible_to

View = Callable[..., HttpResponse]


def visible_request_or_404(request: HttpRequest, pk: int) -> ForgetRequest:
    """The forget request if this user may see it; 404 otherwise (never 403: no probing)."""
    return get_object_or_404(forget_requests_visible_to(request.user), pk=pk)


def require(predicate: Callable[[Any], bool]) -> Callable[[View], View]:
    """Login required, then 404 unless predicate(user) holds."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not predicate(request.user):
                raise Http404("Not found")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
