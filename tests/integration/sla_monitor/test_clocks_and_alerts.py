"""Clocks over the real broker: breach alerts go out once and signed, touches meet clocks, order does not matter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from standardwebhooks import Webhook

from shared import topics
from shared.db import create_engine
from sla_monitor import tables
from tests.integration.sla_monitor.conftest import Monitor, activity, assigned, clocks_of, send
from tests.support import TopicReader, eventually


async def _subscribe(monitor: Monitor, **body: object) -> str:
    answer = await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url, **body})
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"].startswith("whsec_")
    return str(answer.json()["secret"])


async def test_an_untouched_hot_lead_breaches_once_and_ops_get_a_signed_webhook(monitor: Monitor) -> None:
    secret = await _subscribe(monitor, events=["sla.breached"], filter={"urgency": "hot"})
    await send(monitor.kafka, assigned("late-lead"))
    [clock] = await eventually(clocks_of(monitor, "late-lead", state="breached"), what="the breach")
    assert clock["escalation_level"] == 1 and clock["rep_id"] == "rep-a"

    async def delivered() -> list[tuple[dict[str, str], bytes]] | None:
        return monitor.receiver.deliveries or None

    [(headers, body)] = await eventually(delivered, what="the webhook")
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "sla.breached" and event["subject"] == "late-lead"
    assert event["data"]["lead_name"] == "Ana Ruiz" and event["data"]["company"] == "Fintastic"
    assert event["data"]["source"] == "web_form" and event["data"]["campaign"] == "q4"
    assert headers["webhook-id"] == event["id"]

    async with TopicReader(monitor.kafka, topics.SLA_ALERTS) as reader:
        breaches = await reader.wait_for(lambda e: e.type == "sla.breached" and e.subject == "late-lead")
    assert len(breaches) == 1
    assert len(monitor.receiver.deliveries) == 1


async def test_an_outbound_touch_in_time_meets_the_clock_and_nothing_breaches(monitor: Monitor) -> None:
    await _subscribe(monitor, events=["sla.breached", "sla.met"])
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("quick-lead", at=start))
    await send(monitor.kafka, activity("quick-lead", "call-1", at=start + timedelta(milliseconds=300)))
    [clock] = await eventually(clocks_of(monitor, "quick-lead", state="met"), what="the clock met")
    assert abs(clock["response_seconds"] - 0.3) < 0.01
    assert clock["met_at"] is not None

    async with TopicReader(monitor.kafka, topics.SLA_ALERTS) as reader:
        [met] = await reader.wait_for(lambda e: e.type == "sla.met" and e.subject == "quick-lead")
        assert met.data["response_seconds"] == clock["response_seconds"]
        # a second lead that breaches proves the ticker ran past the first lead's due time
        await send(monitor.kafka, assigned("witness"))
        await reader.wait_for(lambda e: e.type == "sla.breached" and e.subject == "witness")
        assert [e for e in reader.events if e.subject == "quick-lead" and e.type == "sla.breached"] == []


async def test_a_call_in_time_that_the_crm_reports_after_the_breach_still_meets_the_clock(monitor: Monitor) -> None:
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("slow-crm", at=start))
    await eventually(clocks_of(monitor, "slow-crm", state="breached"), what="the breach")
    await send(monitor.kafka, activity("slow-crm", "call-in-time", at=start + timedelta(milliseconds=500)))
    [clock] = await eventually(clocks_of(monitor, "slow-crm", state="met"), what="the clock met after all")
    assert abs(clock["response_seconds"] - 0.5) < 0.01
    async with TopicReader(monitor.kafka, topics.SLA_ALERTS) as reader:
        events = await reader.wait_for(lambda e: e.subject == "slow-crm" and e.type in {"sla.breached", "sla.met"},
                                       count=2)
    assert sorted(e.type for e in events) == ["sla.breached", "sla.met"]
    report = (await monitor.http.get("/v1/reports/speed-to-lead", params={"group_by": "rep"})).json()
    [row] = [g for g in report["groups"] if g["group"] == "rep-a"]
    assert (row["met_within_sla"], row["breached"]) == (1, 0)


async def test_an_activity_that_overtakes_its_assignment_starts_the_clock_already_met(monitor: Monitor) -> None:
    assigned_at = datetime.now(UTC)
    await send(monitor.kafka, activity("overtaken", "email-1", kind="email", at=assigned_at + timedelta(seconds=0.2)))
    await send(monitor.kafka, activity("overtaken", "note-0", kind="call", at=assigned_at - timedelta(hours=1)))
    await eventually(lambda: _touch_stored(monitor), what="both activities stored before the assignment arrives")
    await send(monitor.kafka, assigned("overtaken", at=assigned_at))
    [clock] = await eventually(clocks_of(monitor, "overtaken", state="met"), what="the clock met")
    assert abs(clock["response_seconds"] - 0.2) < 0.01


async def _touch_stored(monitor: Monitor) -> bool:
    settings = monitor.settings
    engine = create_engine(settings.sla_monitor_database_url, schema=settings.sla_monitor_database_schema)
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(tables.touches))).scalar_one()
    finally:
        await engine.dispose()
    return count == 2


async def test_a_reassignment_cancels_the_old_clock_and_starts_a_new_one(monitor: Monitor) -> None:
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("moved", urgency="warm", at=start))
    await eventually(clocks_of(monitor, "moved"), what="the first clock")
    await send(monitor.kafka, assigned("moved", urgency="warm", rep_id="rep-b", reason="reassigned",
                                       at=start + timedelta(seconds=1)))

    async def two_clocks() -> list[dict[str, object]] | None:
        clocks = await clocks_of(monitor, "moved")()
        return clocks if clocks and len(clocks) == 2 else None

    old, new = await eventually(two_clocks, what="two clocks")
    assert old["state"] == "cancelled" and old["rep_id"] == "rep-a"
    assert new["state"] == "running" and new["rep_id"] == "rep-b"


async def test_a_disqualifying_status_change_cancels_the_clock(monitor: Monitor) -> None:
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("dq", urgency="warm", at=start))
    await eventually(clocks_of(monitor, "dq"), what="the clock")
    await send(monitor.kafka, activity("dq", "st-1", kind="status_change", direction=None, status="disqualified",
                                       at=start + timedelta(seconds=1)))
    [clock] = await eventually(clocks_of(monitor, "dq", state="cancelled"), what="the clock cancelled")
    assert clock["cancelled_at"] is not None


async def test_the_speed_to_lead_report_groups_and_exports_csv(monitor: Monitor) -> None:
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("r1", urgency="warm", at=start))
    await send(monitor.kafka, activity("r1", "r1-call", at=start + timedelta(seconds=60)))
    await send(monitor.kafka, assigned("r2", urgency="warm", rep_id="rep-b", at=start))
    await eventually(clocks_of(monitor, "r1", state="met"))
    await eventually(clocks_of(monitor, "r2"))
    report = (await monitor.http.get("/v1/reports/speed-to-lead", params={"group_by": "rep"})).json()
    by_rep = {g["group"]: g for g in report["groups"]}
    assert by_rep["rep-a"]["met_within_sla"] == 1 and by_rep["rep-a"]["median_first_response_seconds"] == 60
    assert by_rep["rep-b"]["followed_up"] == 0 and by_rep["rep-b"]["leads"] == 1
    csv_answer = await monitor.http.get("/v1/reports/speed-to-lead", params={"group_by": "team"},
                                        headers={"Accept": "text/csv"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    header, row = csv_answer.text.strip().splitlines()
    assert header.startswith("group,leads,followed_up,met_within_sla,breached")
    assert row.startswith("na,2,1,1,0")


async def test_subscriptions_are_listed_without_secrets_and_can_be_deleted(monitor: Monitor) -> None:
    await _subscribe(monitor, events=["sla.breached"], filter={"team": "na"})
    [listed] = (await monitor.http.get("/v1/subscriptions")).json()["subscriptions"]
    assert "secret" not in json.dumps(listed) and listed["filter"] == {"team": "na"}
    assert (await monitor.http.delete(f"/v1/subscriptions/{listed['id']}")).status_code == 204
    assert (await monitor.http.get("/v1/subscriptions")).json()["subscriptions"] == []
