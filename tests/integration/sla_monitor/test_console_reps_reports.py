"""The Reps and Reports pages over real HTTP: the console signed in like a browser, the sla-monitor on a real
database and broker, and a real router behind it (the Reps page changes availability through its API)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port
from lead_router.main import create_app as create_router
from shared.events import CloudEvent, LeadAssigned, LeadSummary
from sla_monitor.main import create_app as create_monitor
from tests.conftest import DatabaseFactory
from tests.integration.lead_router import conftest as router_conftest
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    activity,
    assigned,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import eventually, serve

TODAY = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)


@dataclass
class Console:
    browser: httpx.AsyncClient  # cookies, no bearer token
    router: httpx.AsyncClient  # the router's API, with the bearer token
    monitor: httpx.AsyncClient  # the sla-monitor's API, with the bearer token
    kafka: str


async def _console(databases: DatabaseFactory, kafka: str, tmp_path: Path, router_url: str | None,
                   ) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka, policies,
                                router_url=router_url or f"http://127.0.0.1:{free_port()}")
    app = create_monitor(settings)
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as browser, \
            httpx.AsyncClient(base_url=base_url, headers=ADMIN) as api:
        await consuming(app)
        answer = await browser.post("/ops/login", data={"token": "test-admin", "next": "/ops/"})
        assert answer.status_code == 303, answer.text
        yield browser, api


@pytest.fixture
async def console(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Console]:
    document = {**router_conftest.DOCUMENT, "teams": [
        {"id": "na", "reps": [{"id": "rep-a", "name": "Ana <b>Ruiz</b>", "timezone": "America/New_York",
                               "capacity": 4}, {"id": "rep-b"}]},
        {"id": "desk", "reps": [{"id": "rep-x"}]}]}
    settings = router_conftest.router_settings(await router_conftest.migrated(databases), kafka_bootstrap,
                                               router_conftest.write_document(tmp_path, document))
    async with serve(create_router(settings)) as router_url, \
            httpx.AsyncClient(base_url=router_url, headers=ADMIN) as router_api:
        async for browser, monitor_api in _console(databases, kafka_bootstrap, tmp_path, router_url):
            yield Console(browser=browser, router=router_api, monitor=monitor_api, kafka=kafka_bootstrap)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def _router_rep(console: Console, rep_id: str) -> dict[str, object]:
    reps = (await console.router.get("/v1/reps")).json()["reps"]
    return next(r for r in reps if r["rep_id"] == rep_id)


async def test_the_reps_page_lists_reps_with_load_and_speed_to_lead(console: Console) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    await send(console.kafka, assigned("today-1", urgency="warm", at=start))
    await send(console.kafka, activity("today-1", "today-1-call", at=start + timedelta(seconds=90)))
    await eventually(clocks_of_api(console, "today-1", "met"), what="the clock met")
    page = await console.browser.get("/ops/reps")
    assert page.status_code == 200, page.text
    assert "Ana &lt;b&gt;Ruiz&lt;/b&gt;" in page.text  # a name from the routing document is text, not markup
    row = _row(page.text, "rep-a")
    assert "0 of 4 open" in row and "Available" in row
    assert row.count("100.0 %") == 2 and row.count("1.5 min") == 2  # today and 7 days
    assert "no capacity set" in _row(page.text, "rep-b")


def clocks_of_api(console: Console, lead_id: str, state: str):  # type: ignore[no-untyped-def]
    async def probe() -> object:
        answer = await console.monitor.get(f"/v1/sla/clocks/{lead_id}")
        return answer.status_code == 200 and any(c["state"] == state for c in answer.json()["clocks"]) or None

    return probe


def _row(page: str, rep_id: str) -> str:
    found = re.search(rf'<tr id="rep-\d+" data-rep-id="{re.escape(rep_id)}".*?</tr>', page, re.S)
    assert found, f"no row for {rep_id}"
    return found.group(0)


async def test_setting_a_rep_out_of_office_inactive_and_back_changes_the_router(console: Console) -> None:
    csrf = _csrf((await console.browser.get("/ops/reps")).text)
    answer = await console.browser.post("/ops/reps/availability", data={
        "csrf_token": csrf, "rep_id": "rep-a", "action": "out_of_office", "until": "2099-12-01T09:00"})
    assert answer.status_code == 303 and answer.headers["location"] == "/ops/reps?changed=rep-a"
    assert (await _router_rep(console, "rep-a"))["out_of_office_until"] == "2099-12-01T14:00:00+00:00"  # New York
    page = (await console.browser.get(answer.headers["location"])).text
    assert "Saved: rep-a is now out of office." in page
    assert "until 2099-12-01 09:00" in _row(page, "rep-a") and 'value="2099-12-01T09:00"' in _row(page, "rep-a")
    await console.browser.post("/ops/reps/availability", data={"csrf_token": csrf, "rep_id": "rep-b",
                                                               "action": "inactive"})
    assert (await _router_rep(console, "rep-b"))["active"] is False
    assert "Inactive" in _row((await console.browser.get("/ops/reps")).text, "rep-b")
    await console.browser.post("/ops/reps/availability", data={"csrf_token": csrf, "rep_id": "rep-a",
                                                               "action": "available"})
    rep_a = await _router_rep(console, "rep-a")
    assert (rep_a["active"], rep_a["out_of_office_until"]) == (True, None)


async def test_availability_changes_need_the_csrf_token_and_a_future_date(console: Console) -> None:
    answer = await console.browser.post("/ops/reps/availability", data={"rep_id": "rep-a", "action": "inactive"})
    assert answer.status_code == 403
    csrf = _csrf((await console.browser.get("/ops/reps")).text)
    for until, message in (("", "give a date and time"), ("2001-01-01T09:00", "in the future")):
        answer = await console.browser.post("/ops/reps/availability", data={
            "csrf_token": csrf, "rep_id": "rep-a", "action": "out_of_office", "until": until})
        assert answer.status_code == 422 and message in answer.text
    answer = await console.browser.post("/ops/reps/availability", data={
        "csrf_token": csrf, "rep_id": "rep-nobody", "action": "inactive"})
    assert answer.status_code == 404 and "not in the routing document" in answer.text
    assert (await _router_rep(console, "rep-a"))["active"] is True


async def test_the_reps_page_says_when_the_router_is_unreachable(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    async for browser, _api in _console(databases, kafka_bootstrap, tmp_path, router_url=None):
        page = await browser.get("/ops/reps")
        assert page.status_code == 502 and "The router is unreachable" in page.text


async def test_the_reports_page_has_a_table_per_chart_and_a_csv_download(console: Console) -> None:
    yesterday = TODAY - timedelta(days=1)
    hostile = LeadSummary(first_name="Eve", company="Evil", source="web_form", campaign="=cmd|' /C calc'!A0")
    data = LeadAssigned(lead_id="r-1", team="na", rep_id="rep-a", urgency="warm", rule_id="r1", explanation=["t"],
                        assigned_at=yesterday + timedelta(hours=9), reason="initial", lead=hostile)
    await send(console.kafka, CloudEvent.wrap(data, source="test/router"))
    await send(console.kafka, activity("r-1", "r-1-call", at=yesterday + timedelta(hours=9, minutes=3)))
    await eventually(clocks_of_api(console, "r-1", "met"), what="the clock met")
    page = await console.browser.get("/ops/reports", params={"group_by": "campaign", "from": str(yesterday.date()),
                                                             "to": str(TODAY.date())})
    assert page.status_code == 200, page.text
    assert page.text.count("<table data-chart=") == 4
    assert 'data-group="=cmd|&#39; /C calc&#39;!A0"' in page.text
    assert f'data-t="{int(yesterday.timestamp())}"' in page.text and 'data-value="180.0"' in page.text
    assert "3.0 min" in page.text and 'src="/ops/static/reports.js"' in page.text
    link = re.search(r'href="(/ops/reports/speed-to-lead\.csv\?[^"]+)"', page.text)
    assert link
    download = await console.browser.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith('attachment; filename="speed-to-lead-campaign-day-')
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["group"], r["leads"], r["median_seconds"]) for r in rows] == [
        ("'=cmd|' /C calc'!A0", "1", "180.0"), ("'=cmd|' /C calc'!A0", "0", "")]


async def test_the_reports_page_names_a_bad_date_and_needs_a_session(console: Console) -> None:
    page = await console.browser.get("/ops/reports", params={"from": "yesterday"})
    assert page.status_code == 422 and "From: give a date as YYYY-MM-DD" in page.text
    assert 'id="from" name="from" value="yesterday" aria-invalid="true"' in page.text
    async with httpx.AsyncClient(base_url=str(console.browser.base_url)) as stranger:
        assert (await stranger.get("/ops/reports")).status_code == 303
        assert (await stranger.get("/ops/reports/speed-to-lead.csv")).status_code == 303
