"""Signing in to the ops console in a real browser: a wrong token is refused on the page, the admin token opens
the board with every page in the navigation, signing out ends the session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_TOKEN, console_url, screenshot, sign_in
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_sign_in_with_the_admin_token_and_out_again(page: Page, console_stack: Stack) -> None:
    page.goto(console_url(console_stack))
    expect(page).to_have_url(re.compile(r"/ops/login\?next="))
    page.get_by_label("Admin token").fill("not-" + ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the admin token")
    screenshot(page, "sign-in")

    sign_in(page, console_stack)
    nav = page.get_by_role("navigation", name="Console pages")
    for label in ["Board", "Reps", "Routing", "Reports", "Plumbing"]:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(nav.get_by_role("link", name="Board")).to_have_attribute("aria-current", "page")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ops/login$"))
    page.goto(console_url(console_stack))
    expect(page).to_have_url(re.compile(r"/ops/login\?next="))
