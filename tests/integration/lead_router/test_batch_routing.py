"""A batch of received leads is routed with set-based statements, yet decided exactly as one lead per
transaction would be: same teams, reps, queue entries, explanations, rotation and open-lead counts — including
leads of one batch that share a contact (ownership) or fill a rep's capacity, and a lead sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from lead_router import tables
from lead_router.config_store import routing_documents
from lead_router.routing import route_received_lead, route_received_leads
from shared import db
from shared.events import LeadReceived
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import migrated

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
DOCUMENT = {
    "teams": [
        {"id": "na", "strategy": "round_robin", "reps": [{"id": "ana", "capacity": 3}, {"id": "ben", "capacity": 3},
                                                         {"id": "cy"}]},
        {"id": "emea", "strategy": "weighted", "reps": [{"id": "dora", "weight": 2}, {"id": "emil"}]},
        {"id": "desk", "strategy": "least_loaded",
         "reps": [{"id": "fay", "capacity": 2}, {"id": "gus", "capacity": 1}]},
    ],
    "rules": [
        {"id": "us", "priority": 10, "match": {"country": ["US"]}, "team": "na", "urgency": "hot"},
        {"id": "eu", "priority": 20, "match": {"country": ["DE", "FR"]}, "team": "emea", "urgency": "warm"},
    ],
    "fallback": {"team": "desk", "urgency": "cold"},
    "ownership": {"lookback_days": 90, "match_company_domain": True},
}


def _leads() -> list[LeadReceived]:
    countries = ["US", "DE", "BR", "US", "FR", "US", "BR", "US", "DE", "US", "BR", "US", "US", "FR", "BR", "BR"]
    leads = []
    for n, country in enumerate(countries):
        email = f"p{n}@acme{n % 4}.com" if n % 3 else f"p{n % 2}@gmail.com"  # shared emails and company domains
        email = "new@elsewhere.org" if n == 15 else email
        leads.append(LeadReceived(lead_id=f"lead-{n:02}", email=email, country=country, source="web_form",
                                  received_at=NOW + timedelta(seconds=n)))
    return [*leads, leads[4]]  # the same lead twice: routed once


async def _routed(databases: DatabaseFactory, *, batch: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    url = await migrated(databases)
    engine = db.create_engine(url, schema="router")
    factory = db.create_session_factory(engine)
    documents = routing_documents()
    try:
        async with factory.begin() as session:
            await documents.save(session, DOCUMENT, origin="test", now=NOW)
        earlier = [LeadReceived(lead_id="old-1", email="p1@acme1.com", country="DE", source="web_form",
                                received_at=NOW - timedelta(days=1))]  # owns acme1.com before the batch
        leads = _leads()
        async with factory.begin() as session:
            active = await documents.active(session)
            await route_received_leads(session, earlier, active=active, now=NOW)
        async with factory.begin() as session:
            if batch:
                await route_received_leads(session, leads, active=active, now=NOW)
        if not batch:
            for lead in leads:
                async with factory.begin() as session:
                    await route_received_lead(session, lead, active=active, now=NOW)
        async with factory() as session:
            a = tables.assignments
            rows = [dict(r._mapping) for r in (await session.execute(
                select(a.c.lead_id, a.c.state, a.c.team, a.c.rep_id, a.c.urgency, a.c.explanation)
                .order_by(a.c.lead_id))).all()]
            cursors = {r.team_id: (r.last_rep_id, r.current_weights) for r in (await session.execute(
                select(tables.team_cursors))).all()}
            outbox = (await session.execute(select(tables.outbox.c.event_id))).all()
        return rows, {"cursors": cursors, "events": len(outbox)}
    finally:
        await engine.dispose()


async def test_a_batch_is_decided_as_one_lead_at_a_time_would_be(databases: DatabaseFactory) -> None:
    one_by_one, state_one = await _routed(databases, batch=False)
    batched, state_batched = await _routed(databases, batch=True)
    assert batched == one_by_one
    assert state_batched == state_one
    by_lead = {r["lead_id"]: r for r in batched}
    assert state_batched["events"] == 16  # one lead.assigned per assignment, none for the queued lead
    assert len(batched) == 17  # 16 leads + the earlier one; the repeat was not routed again
    assert by_lead["lead-15"]["state"] == "queued" and by_lead["lead-15"]["rep_id"] is None  # desk is full
    # what makes a batch hard: state the batch's own earlier decisions changed
    assert "fay at capacity (2/2 open leads)" in " ".join(by_lead["lead-14"]["explanation"])
    assert "owns this contact (same email as lead lead-00)" in " ".join(by_lead["lead-06"]["explanation"])
    assert "(same company domain as lead lead-02)" in " ".join(by_lead["lead-10"]["explanation"])
    assert "owns this contact (same email as lead old-1)" in " ".join(by_lead["lead-01"]["explanation"])
