"""Smoke test of the browser setup: a user logs in through the login page."""

from collections.abc import Callable

from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

PASSWORD = "correct horse battery staple"


def test_user_logs_in_and_sees_their_name_in_the_nav(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, str, str, str], None],
    django_user_model: type,
) -> None:
    # given
    django_user_model.objects.create_user(username="alice", password=PASSWORD)

    # when
    login(page, live_server.url, "alice", PASSWORD)

    # then
    expect(page.locator(".topnav .username")).to_have_text("alice")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_logged_out(
    page: Page, live_server: LiveServer, django_user_model: type
) -> None:
    # given
    django_user_model.objects.create_user(username="bob", password=PASSWORD)

    # when
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "not the password")
    page.click("form button[type=submit]")

    # then
    expect(page.locator(".errorlist")).to_be_visible()
    expect(page.locator(".topnav .username")).to_have_count(0)
