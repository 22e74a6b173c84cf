"""The console's board and plumbing pages over real HTTP: the board lists the running clocks by time left,
filtered, with lead-supplied text escaped, and pushes a ``board`` event when a clock changes; the plumbing page
says so when the router or intake is unreachable, and its buttons need the CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port
from shared.events import CloudEvent, LeadAssigned, LeadSummary
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import FAST_POLICIES, consuming, migrated, monitor_settings, send
from tests.support import eventually, serve


@dataclass
class Console:
    browser: httpx.AsyncClient
    kafka: str
    csrf: str


@pytest.fixture
async def console(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Console]:
    """A signed-in browser on an sla-monitor whose router and intake are not running."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES.replace("hot:  {first_response: 1s}", "hot:  {first_response: 1h}"))
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies, router_url=nowhere,
                                intake_url=nowhere, console_upstream_timeout_seconds=2)
    app = create_app(settings)
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as browser:
        await consuming(app)
        signed_in = await browser.post("/ops/login", data={"token": "test-admin"})
        assert signed_in.status_code == 303
        page = (await browser.get("/ops/")).text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found
        yield Console(browser=browser, kafka=kafka_bootstrap, csrf=found.group(1))


def _assigned(lead_id: str, *, urgency: str, team: str, rep_id: str, company: str) -> CloudEvent:
    data = LeadAssigned(lead_id=lead_id, team=team, rep_id=rep_id, urgency=urgency, rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC),
                        lead=LeadSummary(company=company, source="web_form", campaign="q4"))
    return CloudEvent.wrap(data, source="test/router")


async def _rows(console: Console, query: str = "") -> str:
    answer = await console.browser.get(f"/ops/board/rows{query}", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    return answer.text


async def test_the_board_lists_clocks_by_time_left_filtered_and_escaped(console: Console) -> None:
    await send(console.kafka, _assigned("warm-lead", urgency="warm", team="emea", rep_id="rep-b", company="Calm Co"))
    await send(console.kafka, _assigned("hot-lead", urgency="hot", team="na", rep_id="rep-a",
                                        company="<script>alert(1)</script>"))

    async def both() -> str | None:
        text = await _rows(console)
        return text if 'data-lead-id="hot-lead"' in text and 'data-lead-id="warm-lead"' in text else None

    text = await eventually(both, what="both clocks on the board")
    assert text.index('data-lead-id="hot-lead"') < text.index('data-lead-id="warm-lead"')  # less time left first
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    hot = await _rows(console, "?urgency=hot")
    assert 'data-lead-id="hot-lead"' in hot and 'data-lead-id="warm-lead"' not in hot
    by_rep = await _rows(console, "?rep=rep-b")
    assert 'data-lead-id="warm-lead"' in by_rep and 'data-lead-id="hot-lead"' not in by_rep
    by_team = await _rows(console, "?team=nobody")
    assert "No running clocks match these filters." in by_team
    page = (await console.browser.get("/ops/?team=emea")).text
    assert '<option value="emea" selected>' in page and '<option value="rep-a">' in page
    bad = await console.browser.get("/ops/?urgency=boiling")
    assert bad.status_code == 422 and "urgency" in bad.text


async def test_the_board_stream_says_when_a_clock_changed(console: Console) -> None:
    async with console.browser.stream("GET", "/ops/board/stream", timeout=30) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "retry: 2000"
        await send(console.kafka, _assigned("pushed", urgency="hot", team="na", rep_id="rep-a", company="Push"))

        async def board_event() -> bool:
            async for line in lines:
                if line == "event: board":
                    return True
            return False

        assert await eventually(board_event, what="a board event")
    assert 'data-lead-id="pushed"' in await _rows(console)


async def test_the_board_stream_needs_a_session(console: Console) -> None:
    async with httpx.AsyncClient(base_url=str(console.browser.base_url)) as stranger:
        answer = await stranger.get("/ops/board/stream")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ops/login")


async def test_the_plumbing_page_says_when_router_and_intake_are_unreachable(console: Console) -> None:
    page = await console.browser.get("/ops/plumbing")
    assert page.status_code == 200 and "Nothing was delivered yet." in page.text
    unmatched = await console.browser.get("/ops/plumbing/unmatched", headers={"HX-Request": "true"})
    assert unmatched.status_code == 200 and "The intake is unreachable" in unmatched.text
    dlq = await console.browser.get("/ops/plumbing/dlq", headers={"HX-Request": "true"})
    assert dlq.status_code == 200
    assert "The router is unreachable" in dlq.text and "The intake is unreachable" in dlq.text
    assert re.search(r'data-service="sla-monitor">\s*<th scope="row">sla-monitor</th>\s*<td><div>leads', dlq.text)


async def test_plumbing_buttons_need_the_csrf_token(console: Console) -> None:
    assert (await console.browser.post("/ops/plumbing/dlq/router/replay")).status_code == 403
    assert (await console.browser.post("/ops/plumbing/deliveries/1/resend")).status_code == 403
    answer = await console.browser.post("/ops/plumbing/dlq/router/replay",
                                        headers={"X-CSRF-Token": console.csrf, "HX-Request": "true"})
    assert answer.status_code == 200 and "The router is unreachable" in answer.text
    answer = await console.browser.post("/ops/plumbing/deliveries/12345/resend",
                                        headers={"X-CSRF-Token": console.csrf, "HX-Request": "true"})
    assert "No delivery 12345" in answer.text
