"""``GET /v1/events/stream``: the events the sla-monitor consumes and publishes, live, as Server-Sent Events,
without the lead's contact block, and only with the admin token."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.events import CloudEvent, LeadAssigned, LeadContact, LeadSummary
from tests.integration.sla_monitor.conftest import Monitor, send
from tests.support import eventually


def _assigned_with_contact(lead_id: str) -> CloudEvent:
    from datetime import UTC, datetime

    data = LeadAssigned(lead_id=lead_id, team="na", rep_id="rep-a", urgency="hot", rule_id="r1",
                        explanation=["test"], assigned_at=datetime.now(UTC),
                        lead=LeadSummary(company="Fintastic", source="web_form"),
                        contact=LeadContact(email="ana@example.com", phone="+14155550100"))
    return CloudEvent.wrap(data, source="test/router")


async def test_the_stream_shows_consumed_and_published_events_without_contact_details(monitor: Monitor) -> None:
    messages: list[dict[str, Any]] = []
    async with monitor.http.stream("GET", "/v1/events/stream", timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith(": following")  # the tail reads from here on
        event = _assigned_with_contact("streamed")
        await send(monitor.kafka, event)
        current: dict[str, str] = {}

        async def next_message() -> bool:
            async for line in lines:
                if line.startswith(("id: ", "event: ", "data: ")):
                    key, _, value = line.partition(": ")
                    current[key] = value
                elif line == "" and "data" in current:
                    messages.append({**current, "data": json.loads(current["data"])})
                    current.clear()
                    return any(m["event"] == "sla.breached" for m in messages)
            return False

        await eventually(next_message, what="the lead's assignment and breach on the stream")
    assigned = next(m for m in messages if m["event"] == "lead.assigned")
    assert assigned["id"] == event.id and assigned["data"]["id"] == event.id
    assert assigned["data"]["lead_id"] == "streamed" and assigned["data"]["type"] == "lead.assigned"
    assert assigned["data"]["data"]["lead"]["company"] == "Fintastic"
    assert "contact" not in assigned["data"]["data"]
    assert "ana@example.com" not in json.dumps(messages)
    breached = next(m for m in messages if m["event"] == "sla.breached")
    assert breached["data"]["lead_id"] == "streamed"


async def test_the_stream_needs_the_admin_token(monitor: Monitor) -> None:
    async with httpx.AsyncClient(base_url=str(monitor.http.base_url)) as plain:
        assert (await plain.get("/v1/events/stream")).status_code == 401
