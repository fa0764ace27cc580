"""A forget request's journey from filing to approval in a real browser, one role at a time."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from remediation.models import ForgetRequest
from tests.conftest import PASSWORD

PHONE, ADDRESS = "+1-415-555-0134", "12 Elm Street, Springfield"


@pytest.fixture
def as_user(browser: Browser, live_server, login):
    """Open a fresh browser context logged in as a persona."""
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        login(page, live_server.url, username, PASSWORD)
        return page

    yield open_as
    for context in contexts:
        context.close()


def file_request(page: Page, base: str) -> str:
    page.goto(base + reverse("request_new"))
    page.select_option("select[name=kind]", "pii")
    page.fill("input[name=subject_reference]", "Maria Okafor")
    page.select_option("select[name=legal_ground]", "art17_1b")
    page.check("input[name=models]")
    page.fill("input[name=items-0-prompt]", "Maria Okafor's phone number is")
    page.fill("input[name=items-0-completion]", PHONE)
    page.fill("input[name=items-1-prompt]", "Maria Okafor lives at")
    page.fill("input[name=items-1-completion]", ADDRESS)
    page.click("button[name=submit]")
    expect(page.locator("#status")).to_have_text("Submitted")
    return re.search(r"FR-\d+", page.locator("h1").inner_text()).group(0)


def test_request_is_filed_reviewed_and_approved_by_three_people(
    transactional_db, personas, ml_model, as_user, live_server
):
    base = live_server.url
    # given: Alice files a request with two items
    alice = as_user("alice")
    ticket = file_request(alice, base)
    expect(alice.locator("#items")).to_contain_text(PHONE)
    expect(alice.locator("#items")).to_contain_text(ADDRESS)
    detail_url = alice.url

    # when: Bob finds it in the queue and reviews it
    bob = as_user("bob")
    bob.goto(base + reverse("request_list"))
    bob.click(f"text={ticket}")
    expect(bob.locator("#items")).to_contain_text(PHONE)
    bob.check("input[name=identity_verified]")
    bob.fill("input[name=identity_method]", "passport checked by support")
    bob.click("#review-form button[type=submit]")
    expect(bob.locator("#status")).to_have_text("In review")
    expect(bob.locator("#approve")).to_have_count(0)

    # and: Carol approves it
    carol = as_user("carol")
    carol.goto(detail_url)
    carol.click("#approve")
    expect(carol.locator("#status")).to_have_text("Approved")

    # then: the request is approved, with three different people on it
    request = ForgetRequest.objects.get()
    assert request.status == ForgetRequest.Status.APPROVED
    names = {request.requester.username, request.reviewer.username, request.approver.username}
    assert names == {"alice", "bob", "carol"}

    # and: the operator sees it, redacted; Mallory does not see it at all
    dave = as_user("dave")
    dave.goto(detail_url)
    expect(dave.locator("#items")).to_contain_text("redacted")
    assert PHONE not in dave.content() and "Maria Okafor" not in dave.content()
    expect(dave.locator("#actions")).to_have_count(0)
    mallory = as_user("mallory")
    mallory.goto(base + reverse("request_list"))
    expect(mallory.locator("table.requests")).not_to_contain_text(ticket)
    response = mallory.goto(detail_url)
    assert response is not None and response.status == 404

    # and: the auditor verifies the chain that recorded all of it
    erin = as_user("erin")
    erin.goto(base + reverse("audit_list"))
    expect(erin.locator("table")).to_contain_text("forget_request.approved")
    erin.click("#verify-chain")
    expect(erin.locator("#chain-ok")).to_contain_text("Chain intact: 4 events")
    assert PHONE not in erin.content()
