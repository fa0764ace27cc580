"""Template context shared by every page."""

from django.http import HttpRequest

from remediation.roles import roles_of


def roles(request: HttpRequest) -> dict[str, frozenset[str]]:
    return {"user_roles": roles_of(request.user)}
