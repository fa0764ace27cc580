"""The roles people hold, as Django groups."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

REQUESTER = "requester"
REVIEWER = "reviewer"
APPROVER = "approver"
OPERATOR = "operator"
AUDITOR = "auditor"
ADMIN = "admin"

ALL_ROLES = (REQUESTER, REVIEWER, APPROVER, OPERATOR, AUDITOR, ADMIN)

UserLike = AbstractBaseUser | AnonymousUser


def roles_of(user: UserLike) -> frozenset[str]:
    """The role names a user holds; cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_unlearn_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
        if user.is_superuser:  # type: ignore[union-attr]
            names.add(ADMIN)
        cached = frozenset(names & set(ALL_ROLES))
        user._unlearn_roles = cached  # type: ignore[union-attr]
    return cached


def has_role(user: UserLike, *roles: str) -> bool:
    """True when the user holds at least one of roles."""
    return bool(roles_of(user) & set(roles))
