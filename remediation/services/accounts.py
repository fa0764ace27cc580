"""Role groups and the demo users of the embedded default."""

import os
import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction

from remediation.roles import ADMIN, ALL_ROLES


def role_groups_ensure() -> dict[str, Group]:
    """Create the role groups if they are missing."""
    return {name: Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES}


def _demo_password(role: str) -> str:
    return os.environ.get(f"UNLEARN_DEMO_PASSWORD_{role.upper()}") or secrets.token_urlsafe(12)


@transaction.atomic
def demo_users_ensure() -> dict[str, str]:
    """One demo user per role, named after it. Returns {username: password} for the users
    created now (existing users keep their passwords, so this is safe to run again)."""
    groups = role_groups_ensure()
    created: dict[str, str] = {}
    for role in ALL_ROLES:
        if User.objects.filter(username=role).exists():
            continue
        password = _demo_password(role)
        user = User.objects.create_user(
            username=role, password=password, first_name=role.title(), last_name="Demo"
        )
        user.groups.add(groups[role])
        if role == ADMIN:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        created[role] = password
    return created
