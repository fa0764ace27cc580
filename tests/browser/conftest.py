"""Browser tests: Playwright's sync API drives the system chromium against live_server.

The browser is Debian's /usr/bin/chromium (`make sysdeps`), never a downloaded one;
CHROMIUM_PATH overrides it. Every test in this directory is marked `browser`, so
`pytest -m "not browser"` leaves them out.
"""

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
BROWSER_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = BROWSER_DIR.parent.parent / "var" / "test-artifacts"
# Short, so a missing element fails the test in seconds rather than at the pytest timeout.
DEFAULT_TIMEOUT_MS = 10_000

LoginHelper = Callable[[Page, str, str, str], None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only ours: filter by path.
    for item in items:
        if BROWSER_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item so the page fixture can tell a failure.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Playwright's sync API runs an asyncio loop in this thread while it is started, and
    # Django refuses ORM calls from a thread with a running loop. The tests' own ORM calls
    # are synchronous and safe, so allow them, but only while Playwright is running:
    # other tests (consumers, tasks) keep Django's check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(f"{CHROMIUM_PATH} is missing: run `make sysdeps` (apt-get install chromium)")
    # --no-sandbox: CI runs as root, where chromium's sandbox will not start.
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, headless=True, args=["--no-sandbox"]
    )
    yield instance
    instance.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own context (no cookies shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    new_page = context.new_page()
    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        new_page.screenshot(path=str(ARTIFACTS_DIR / f"{request.node.name}.png"), full_page=True)
    context.close()


def login(page: Page, live_server_url: str, username: str, password: str) -> None:
    """Log in through the login page and wait until the nav shows the user."""
    page.goto(live_server_url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    expect(page.locator(".topnav .username")).to_have_text(username)


@pytest.fixture(name="login")
def login_fixture() -> LoginHelper:
    """`login(page, live_server.url, username, password)`, without importing conftest."""
    return login
