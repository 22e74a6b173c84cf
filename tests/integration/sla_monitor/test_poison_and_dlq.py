"""The sla-monitor over a real broker: an assignment that does not validate is dead-lettered without PII,
the clocks of the others start, and the admin endpoints list it for this service only."""

from __future__ import annotations

import httpx

from shared import topics
from tests.integration.sla_monitor.conftest import Monitor, assigned, clocks_of, send
from tests.support import eventually, publish, read_raw

DLQ = topics.dead_letter_topic(topics.LEADS_ASSIGNED)
PII = "+1 415 555 0100"


async def test_an_invalid_assignment_is_dead_lettered_and_the_next_one_starts_its_clock(monitor: Monitor) -> None:
    bad = assigned("lead-sla").model_copy(update={"data": {"lead_id": "lead-sla", "urgency": "scorching",
                                                           "lead": {"phone": PII}}})
    await publish(monitor.kafka, topics.LEADS_ASSIGNED, bad)
    await send(monitor.kafka, assigned("lead-sla"))
    await eventually(clocks_of(monitor, "lead-sla", state="running"), what="the good assignment's clock")

    [dead] = await read_raw(monitor.kafka, DLQ, count=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["error-reason"] == "invalid_event" and headers["consumer-group"] == "sla-monitor"
    assert headers["event-id"] == bad.id and PII not in str(headers)

    async with httpx.AsyncClient(base_url=str(monitor.http.base_url)) as anonymous:
        assert (await anonymous.get("/v1/admin/dlq")).status_code == 401
    listing = (await monitor.http.get("/v1/admin/dlq")).json()
    assert listing["group"] == "sla-monitor" and set(listing["topics"]) == {
        DLQ, topics.dead_letter_topic(topics.LEADS_ACTIVITY)}
    assert listing["topics"][DLQ]["count"] == 1 and PII not in str(listing)
    assert (await monitor.http.get("/healthz")).status_code == 200
