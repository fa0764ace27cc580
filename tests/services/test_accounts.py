"""Role groups and the demo users that `setup_demo` creates for the embedded default."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from remediation.roles import ALL_ROLES, roles_of
from remediation.services.accounts import demo_users_ensure, role_groups_ensure


def setup_demo() -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(\w+)\s+(\S+)$", output, flags=re.MULTILINE))


def test_setup_demo_creates_six_groups_and_six_users(db):
    # when
    setup_demo()
    # then
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ALL_ROLES)
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(ALL_ROLES)
    for role in ALL_ROLES:
        assert roles_of(User.objects.get(username=role)) == {role}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()


def test_setup_demo_prints_each_password_once_and_they_work(db):
    # when
    passwords = printed_passwords(setup_demo())
    # then
    assert sorted(passwords) == sorted(ALL_ROLES)
    assert len(set(passwords.values())) == len(ALL_ROLES)
    for username, password in passwords.items():
        assert User.objects.get(username=username).check_password(password)


def test_setup_demo_again_changes_nothing_and_prints_no_password(db):
    # given
    first = printed_passwords(setup_demo())
    hashes = dict(User.objects.values_list("username", "password"))
    # when
    output = setup_demo()
    # then
    assert printed_passwords(output) == {}
    assert not any(password in output for password in first.values())
    assert "already exist" in output
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert Group.objects.count() == len(ALL_ROLES)


def test_a_password_can_come_from_the_environment(db, monkeypatch):
    # given
    monkeypatch.setenv("UNLEARN_DEMO_PASSWORD_AUDITOR", "audit-all-the-things")
    # when
    created = demo_users_ensure()
    # then
    assert created["auditor"] == "audit-all-the-things"
    assert User.objects.get(username="auditor").check_password("audit-all-the-things")
    assert not User.objects.get(username="reviewer").check_password("audit-all-the-things")


def test_an_existing_demo_user_is_left_alone(db):
    # given
    User.objects.create_user(username="reviewer", password="mine-not-yours")
    # when
    created = demo_users_ensure()
    # then
    assert "reviewer" not in created
    assert sorted(created) == sorted(set(ALL_ROLES) - {"reviewer"})
    assert User.objects.get(username="reviewer").check_password("mine-not-yours")


@pytest.mark.parametrize("existing", [[], ["requester", "admin"]])
def test_role_groups_ensure_is_idempotent(db, existing):
    # given
    for name in existing:
        Group.objects.create(name=name)
    # when
    first, second = role_groups_ensure(), role_groups_ensure()
    # then
    assert first == second
    assert sorted(first) == sorted(ALL_ROLES)
    assert Group.objects.count() == len(ALL_ROLES)
