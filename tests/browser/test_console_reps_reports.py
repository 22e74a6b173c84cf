"""The Reps and Reports pages in a real browser against the whole stack: a rep set out of office from the page
is out of office in the router, and the reports draw charts from two weeks of real clocks."""

from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_TOKEN, ROOT, screenshot, sign_in
from tests.browser.history import publish_history
from tests.e2e.conftest import CREDENTIALS, Stack

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
API_KEY = CREDENTIALS["INTAKE_API_KEYS"].split(":", 1)[1]


def _wait_for(probe, what: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """Poll ``probe`` until it returns something truthy (the stack works asynchronously, over the broker). A
    probe that times out counts as not yet: with four test workers and a browser on two cores, a service still
    consuming the seeded history can take more than httpx's 5 s to answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.TimeoutException):  # not yet; the deadline still bounds the wait
            found = probe()
            if found:
                return found
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}.")


def _seed(stack: Stack) -> None:
    """Two weeks of clocks, and three new leads routed now (so some reps have open leads)."""
    published = publish_history(stack.bootstrap)
    for n in range(3):
        answer = httpx.post(stack.url("intake", "/v1/leads"), headers={"X-API-Key": API_KEY}, json={
            "email": f"buyer{n}@example.com", "company": f"Bank {n}", "country": "US", "industry": "fintech",
            "employees": 800, "intent": "demo_request", "source": "web_form"})
        assert answer.status_code == 202, answer.text

    def clocks_and_calls_counted() -> bool:
        """Every clock started and every first call applied: the calls arrive on another topic, so counting the
        clocks alone let the page open before the medians existed."""
        series = httpx.get(stack.url("sla-monitor", "/v1/reports/speed-to-lead/series"), headers=ADMIN,
                           params={"group_by": "team", "bucket": "week"}).json()["series"]
        points = [p for s in series for p in s["points"] if p["leads"]]
        touches = sum(round(p["touches_per_lead"] * p["leads"]) for p in points)
        return sum(p["leads"] for p in points) >= published.leads + 3 and touches >= published.calls

    _wait_for(clocks_and_calls_counted, "every seeded clock and call in the report", timeout=90.0)


def _publish_screenshot(path: Path) -> None:
    """With ``UPDATE_SCREENSHOTS=1``, copy a screenshot to ``docs/screenshots/`` (the README shows it); a
    plain test run leaves the committed ones alone."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    docs = ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, docs / path.name)


def _router_rep(stack: Stack, rep_id: str) -> dict[str, object]:
    reps = httpx.get(stack.url("router", "/v1/reps"), headers=ADMIN).json()["reps"]
    return next(r for r in reps if r["rep_id"] == rep_id)


def test_a_rep_set_out_of_office_on_the_page_is_out_of_office_in_the_router(page: Page,
                                                                               console_stack: Stack) -> None:
    _seed(console_stack)
    sign_in(page, console_stack, "/ops/reps")
    expect(page.get_by_role("heading", name="Reps")).to_be_visible()
    ana = page.locator('tr[data-rep-id="rep-ana"]')
    expect(ana.get_by_role("rowheader")).to_contain_text("Ana Ruiz")
    expect(ana).to_contain_text("of 25 open")
    expect(ana).to_contain_text("Available")

    back_at = (datetime.now(UTC) + timedelta(days=3)).astimezone(ZoneInfo("America/New_York")).replace(
        hour=9, minute=0, second=0, microsecond=0)
    ana.get_by_label("Out of office until").fill(back_at.strftime("%Y-%m-%dT%H:%M"))
    ana.get_by_role("button", name="Set out of office").click()
    expect(page).to_have_url(re.compile(r"/ops/reps\?changed=rep-ana$"))
    expect(page.get_by_role("status")).to_contain_text("rep-ana is now out of office")
    ana = page.locator('tr[data-rep-id="rep-ana"]')
    expect(ana).to_contain_text(f"Out of office until {back_at.strftime('%Y-%m-%d')} 09:00")
    assert _router_rep(console_stack, "rep-ana")["out_of_office_until"] == back_at.astimezone(UTC).isoformat()

    emil = page.locator('tr[data-rep-id="rep-emil"]')
    emil.get_by_role("button", name="Set inactive").click()
    expect(page.locator('tr[data-rep-id="rep-emil"]')).to_contain_text("Inactive")
    assert _router_rep(console_stack, "rep-emil")["active"] is False
    expect(page.locator('tr[data-rep-id="rep-dora"] td').nth(5)).to_contain_text("%")  # 7 days within SLA
    _publish_screenshot(screenshot(page, "reps"))

    page.locator('tr[data-rep-id="rep-ana"]').get_by_role("button", name="Set available").click()
    expect(page.locator('tr[data-rep-id="rep-ana"]')).to_contain_text("Available")
    assert _router_rep(console_stack, "rep-ana")["out_of_office_until"] is None


def test_the_reports_page_charts_two_weeks_of_speed_to_lead(page: Page, console_stack: Stack) -> None:
    _seed(console_stack)
    sign_in(page, console_stack, "/ops/reports")
    expect(page.get_by_role("heading", name="Speed to lead")).to_be_visible()
    page.get_by_label("From (UTC)").fill((datetime.now(UTC) - timedelta(days=14)).strftime("%Y-%m-%d"))
    page.get_by_label("Group by").select_option("team")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"group_by=team"))

    charts = page.locator("figure.report-chart")
    expect(charts).to_have_count(4)
    for n in range(4):
        chart = charts.nth(n).locator(".chart")
        expect(chart).to_have_attribute("data-drawn", "15")  # 14 days back and today
        expect(chart.locator("canvas")).to_be_visible()
    median = page.locator("figure#chart-median_seconds")
    expect(median.locator(".u-legend")).to_contain_text("na-enterprise")
    median.get_by_text("Data table").click()
    table = median.get_by_role("table")
    expect(table.get_by_role("columnheader", name="emea")).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(15)
    expect(table.locator("tbody td[data-value]:not([data-value=''])").first).to_be_visible()
    median.get_by_text("Data table").click()
    _publish_screenshot(screenshot(page, "reports"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("speed-to-lead-team-day-")
    header = download.value.path().read_text().splitlines()[0]
    assert header == "group,start,leads,median_seconds,p90_seconds,within_sla_pct,touches_per_lead"
