"""The whole journey in a real browser, on real daphne, Redis and Celery processes:
filing, review, approval, leak scan, run plan, approval, the live run, sign-off, the
report's PDF and JSON, and their verification. Then a run cancelled from its page."""

import io
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from remediation.models import ForgetRequest, RemediationRun
from remediation.reports.verify import verify_file
from remediation.services.reports import site_public_key_pem
from tests.browser.conftest import browser, login, playwright  # noqa: F401 - fixtures
from tests.conftest import PASSWORD
from tests.support import (
    FAST_METHOD,
    FAST_SETTINGS,
    LENIENT_POLICY,
    LONG_METHOD,
    LONG_SETTINGS,
    Daphne,
    wait_until,
)


@pytest.fixture
def site(redis_server, model_roots, start_worker, tmp_path, transactional_db):
    start_worker()
    server = Daphne(redis_server, tmp_path / "daphne.log")
    yield server
    server.stop()


@pytest.fixture
def as_user(browser: Browser, site):  # noqa: F811 - the imported fixture
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        login(page, site.url, username, PASSWORD)
        return page

    yield open_as
    for context in contexts:
        context.close()


def file_and_approve(as_user, site, person: str) -> str:
    """Alice files a request for a demo person; Bob reviews; Carol approves. The URL."""
    alice = as_user("alice")
    alice.goto(site.url + reverse("request_new"))
    alice.select_option("#demo-person-form select[name=demo_person]", person)
    alice.click("#demo-person-form button")
    alice.select_option("select[name=legal_ground]", "art17_1a")
    alice.click("button[name=submit]")
    expect(alice.locator("#status")).to_have_text("Submitted")
    url = alice.url
    bob = as_user("bob")
    bob.goto(url)
    bob.check("input[name=identity_verified]")
    bob.fill("input[name=identity_method]", "passport")
    bob.click("#review-form button[type=submit]")
    carol = as_user("carol")
    carol.goto(url)
    carol.click("#approve")
    expect(carol.locator("#status")).to_have_text("Approved")
    return url


def plan(dave: Page, request_url: str, settings: dict, method: str = FAST_METHOD) -> str:
    dave.goto(request_url)
    dave.click("#plan-run")
    dave.select_option("select[name=model_version]", index=1)
    dave.select_option("select[name=method]", method)
    dave.fill("textarea[name=settings]", json.dumps(settings))
    dave.fill("textarea[name=policy]", json.dumps(LENIENT_POLICY))
    dave.click("#plan-form button[type=submit]")
    expect(dave.locator("#run-status")).to_contain_text("Planned")
    return dave.url


def chart_points(page: Page) -> int:
    return int(page.locator("#chart-loss").get_attribute("data-points") or 0)


def test_the_whole_journey_ends_in_a_verified_signed_report(
    as_user, site, tiny_version, tiny_model_dir
):
    from remediation.unlearning import load_demo_data

    person = load_demo_data(tiny_model_dir).trained[0]
    values = list(person.values.values())
    request_url = file_and_approve(as_user, site, person.name)

    # the operator scans the approved request: results per item, redacted for him
    dave = as_user("dave")
    dave.goto(request_url)
    dave.click("#scan-form button[type=submit]")
    dave.click("#remediation a[href*='/scans/']")
    expect(dave.locator("#scan-status")).to_have_text("Done", timeout=120_000)
    expect(dave.locator("#scan-results")).to_contain_text("redacted")
    assert not any(value in dave.content() for value in values)

    # the operator plans a run; an approver approves it and watches it live
    run_url = plan(dave, request_url, FAST_SETTINGS)
    carol = as_user("carol")
    carol.goto(run_url)
    carol.click("#approve-run")
    expect(carol.locator("#ws-state")).to_have_text("live")
    wait_until(lambda: chart_points(carol) > 0, 180, "the chart to gain points")
    first = chart_points(carol)
    expect(carol.locator("#run-status")).to_have_attribute(
        "data-status", "awaiting_signoff", timeout=240_000
    )
    assert chart_points(carol) >= first

    # the approver signs off; the report opens
    carol.reload()
    carol.click("#signoff")
    expect(carol.locator("h1")).to_have_text("Compliance report")
    assert not any(value in carol.content() for value in values)

    # downloads: the PDF and the JSON, both verify; neither holds an item value
    with carol.expect_download() as pdf_download:
        carol.click("#download-pdf")
    pdf = Path(pdf_download.value.path()).read_bytes()
    with carol.expect_download() as json_download:
        carol.click("#download-json")
    evidence = Path(json_download.value.path()).read_bytes()
    key = site_public_key_pem()
    assert verify_file(pdf, key).ok
    assert verify_file(evidence, key).ok
    for value in values:
        assert value.encode() not in evidence
    assert_pdf_pages_have_charts_and_no_values(pdf, values)

    # the site's verification page says the same of the uploaded PDF
    carol.goto(site.url + reverse("report_verify"))
    carol.set_input_files(
        "input[name=file]",
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": pdf}],
    )
    carol.click("#verify-form button[type=submit]")
    expect(carol.locator("#verify-ok")).to_contain_text("VALID")
    request = ForgetRequest.objects.get()
    assert request.status == ForgetRequest.Status.COMPLETED


def assert_pdf_pages_have_charts_and_no_values(pdf: bytes, values: list[str]) -> None:
    import pypdfium2
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert not any(value in text for value in values)
    document = pypdfium2.PdfDocument(pdf)
    inked = []
    for index in range(len(document)):
        image = document[index].render(scale=0.5).to_pil().convert("L")
        histogram = image.histogram()
        inked.append(sum(histogram[:200]) / sum(histogram))
    assert len(inked) >= 2
    assert all(share > 0.002 for share in inked), inked


def test_a_running_run_is_cancelled_from_its_page(as_user, site, tiny_version, tiny_model_dir):
    from remediation.unlearning import load_demo_data

    person = load_demo_data(tiny_model_dir).trained[1]
    request_url = file_and_approve(as_user, site, person.name)
    dave = as_user("dave")
    run_url = plan(dave, request_url, LONG_SETTINGS, LONG_METHOD)
    carol = as_user("carol")
    carol.goto(run_url)
    carol.click("#approve-run")
    run = RemediationRun.objects.get()
    wait_until(lambda: RemediationRun.objects.get().phase == "remediate", 180, "remediation")
    # when
    dave.goto(run_url)
    dave.click("#cancel-run")
    # then
    expect(dave.locator("#run-status")).to_have_attribute(
        "data-status", "cancelled", timeout=120_000
    )
    run.refresh_from_db()
    assert run.status == RemediationRun.Status.CANCELLED
    assert run.output_version is None
    assert run.requests.get().status == ForgetRequest.Status.APPROVED
    assert re.search(r"Cancelled", dave.locator("#log").inner_text())
