"""Browser tests of the ops console: Playwright driving Debian's Chromium (``/usr/bin/chromium``; Playwright's
own browser downloads are not used), against the whole stack started as processes.

``.ci/run`` installs Chromium when it is missing (``apt-get install -y chromium``); ``CHROMIUM_PATH`` points
elsewhere. Screenshots go to ``test-results/screenshots/<name>.png`` for review."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from devstack.stack import SERVICES
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import CREDENTIALS, Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
ADMIN_TOKEN = CREDENTIALS["ADMIN_TOKEN"]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(f"No Chromium at {path}: install it with `apt-get install -y chromium` (.ci/run does) "
                    "or set CHROMIUM_PATH.")
    return path


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread while it is
# started, and the asyncio tests that a pytest-xdist worker runs after a browser module need the thread free.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at laptop size; script errors and console errors (a CSP violation,
    say) fail the test. An HTTP error status is the test's to check, not an error here."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text)
               if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"The browser reported errors: {errors}"


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows now as ``test-results/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def console_stack_env() -> dict[str, str]:
    """Extra environment of the stack's services; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def console_stack(tmp_path: Path, databases: DatabaseFactory, console_stack_env: dict[str, str]) -> Iterator[Stack]:
    """Broker + intake + router + sla-monitor as processes (the console is the sla-monitor's ``/ops/``), on
    SQLite and on PostgreSQL. Tests using it are marked ``e2e``."""
    with running_stack(tmp_path, {s.name: databases.new(s.name) for s in SERVICES.values()},
                       extra_env=console_stack_env) as started:
        yield started


def console_url(stack: Stack, path: str = "/ops/") -> str:
    return stack.url("sla-monitor", path)


def sign_in(page: Page, stack: Stack, path: str = "/ops/") -> None:
    """Open ``path`` and sign in with the admin token on the page it redirects to."""
    page.goto(console_url(stack, path))
    expect(page).to_have_url(re.compile(r"/ops/login"))
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
