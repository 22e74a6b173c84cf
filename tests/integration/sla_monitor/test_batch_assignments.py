"""A batch of assignments starts its clocks and queues its deliveries with set-based statements, with the same
result as one assignment per transaction: same clocks (due times, reps, policies), same deliveries (targets,
bodies). A lead with an earlier clock, an early touch, or two assignments in the batch goes one by one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from shared import db
from shared.db import run_migrations
from shared.events import ActivityRecorded, AssignedRep, CloudEvent, LeadAssigned, LeadContact, LeadSummary, RepCrmIds
from sla_monitor import tables
from sla_monitor.handlers import record_activity, start_for_assignment, start_for_assignments
from sla_monitor.main import policy_documents
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import ALEMBIC_INI

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
POLICIES = {"policies": {"hot": {"first_response": "30m", "warn_before": "5m"}, "warm": {"first_response": "24h"},
                         "cold": {"first_response": "72h"}}}


def _assigned(n: int, *, lead_id: str | None = None, urgency: str = "hot", rep_id: str | None = "rep-a",
              reason: str = "initial") -> tuple[LeadAssigned, CloudEvent]:
    data = LeadAssigned(lead_id=lead_id or f"lead-{n:02}", team="na" if n % 2 else "emea", rep_id=rep_id,
                        urgency=urgency, rule_id="r", explanation=["x"], reason=reason,  # type: ignore[arg-type]
                        assigned_at=NOW + timedelta(seconds=n),
                        lead=LeadSummary(first_name="Ana", company=f"Co {n}", source="web_form", campaign="q4",
                                         received_at=NOW),
                        contact=LeadContact(email=f"p{n}@example.org"),
                        rep=AssignedRep(name="Rep", email="rep@example.com", crm=RepCrmIds(hubspot_owner_id="7")))
    return data, CloudEvent.wrap(data, source="test/router", event_id=f"evt-{n:02}-{reason}", time=data.assigned_at)


def _batch() -> list[tuple[LeadAssigned, CloudEvent]]:
    return [_assigned(0), _assigned(1, urgency="warm"), _assigned(2, rep_id=None), _assigned(3, urgency="cold"),
            _assigned(4, lead_id="lead-busy"), _assigned(5, lead_id="lead-twice"),
            _assigned(6, lead_id="lead-twice", reason="reassigned"), _assigned(7, lead_id="lead-touched"),
            _assigned(8)]


async def _run(databases: DatabaseFactory, *, batch: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    url = databases.new(f"sla-monitor-{'batch' if batch else 'one'}")
    await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
    engine = db.create_engine(url, schema="sla_monitor")
    factory = db.create_session_factory(engine)
    policies = policy_documents()
    try:
        async with factory.begin() as session:
            await policies.save(session, POLICIES, origin="test", now=NOW)
            for n, (fmt, events) in enumerate([("slack", ["lead.assigned"]), ("cloudevents", ["lead.assigned"]),
                                               ("hubspot", ["lead.assigned"])]):
                await session.execute(insert(tables.subscriptions).values(
                    id=f"sub-{n}", url="http://x.example/hook", events=events, filter={"team": "na"} if n else {},
                    format=fmt, secret="whsec_c2VjcmV0", active=True, consecutive_failures=0, created_at=NOW))
            await session.execute(insert(tables.lead_links).values(lead_id="lead-00", crm="salesforce",
                                                                   external_id="00Q1", linked_at=NOW))
            earlier, event = _assigned(9, lead_id="lead-busy")
            await start_for_assignment(session, event, earlier, 0, policies=policies, now=NOW)
            await record_activity(session, ActivityRecorded(
                lead_id="lead-touched", activity_id="a1", type="call", direction="outbound", rep_id="rep-a",
                occurred_at=NOW + timedelta(seconds=60), received_at=NOW + timedelta(seconds=60)), now=NOW)
        items = _batch()
        if batch:
            async with factory.begin() as session:
                await start_for_assignments(session, items, 3, policies=policies, now=NOW)
        else:
            for data, event in items:
                async with factory.begin() as session:
                    await start_for_assignment(session, event, data, 3, policies=policies, now=NOW)
        async with factory() as session:
            c, d = tables.clocks, tables.deliveries
            clocks = [dict(r._mapping) for r in (await session.execute(select(c).order_by(
                c.c.assignment_event_id))).all()]
            deliveries = [dict(r._mapping) for r in (await session.execute(select(d).order_by(
                d.c.event_id, d.c.subscription_id))).all()]
    finally:
        await engine.dispose()
    for clock in clocks:
        for varying in ("clock_id", "version"):
            clock.pop(varying)
    for delivery in deliveries:
        delivery.pop("id")
        delivery["payload"] = json.loads(delivery["payload"])
    return clocks, deliveries


async def test_a_batch_of_assignments_starts_the_same_clocks_and_deliveries_as_one_by_one(
        databases: DatabaseFactory) -> None:
    one_clocks, one_deliveries = await _run(databases, batch=False)
    batch_clocks, batch_deliveries = await _run(databases, batch=True)
    assert batch_clocks == one_clocks
    assert batch_deliveries == one_deliveries
    by_event = {c["assignment_event_id"]: c for c in batch_clocks}
    assert "evt-02-initial" not in by_event  # nobody to hold the clock
    assert by_event["evt-00-initial"]["due_at"] == NOW + timedelta(minutes=30)
    assert by_event["evt-09-initial"]["state"] == "cancelled"  # the earlier clock of lead-busy
    assert by_event["evt-05-initial"]["state"] == "cancelled"  # lead-twice: reassigned in the same batch
    assert by_event["evt-07-initial"]["state"] == "met"  # the touch that came first meets it
    hubspot = [d for d in batch_deliveries if d["subscription_id"] == "sub-2"]
    assert hubspot and all(d["payload"]["properties"]["hubspot_owner_id"] == "7" for d in hubspot)
