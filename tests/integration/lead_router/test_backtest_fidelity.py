"""A backtest of the current document reproduces, lead for lead, what the router really did over a busy period:
leads routed one at a time by the real code as they arrived, touched in between (capacity and least-loaded),
queued outside working hours and at capacity, sent to the fallback team after a queue timeout, and returning
contacts given to their owner; the queue worker run as often as the replay assumes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from lead_router.backtesting import run_backtest
from lead_router.config_store import routing_documents
from lead_router.domain.config import parse_document
from lead_router.queue import drain_queues, mark_touched
from lead_router.routing import route_received_lead
from shared import db
from shared.events import LeadReceived
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import migrated

START = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # a Monday, before emea opens at 08:00
DOCUMENT: dict[str, Any] = {
    "teams": [
        {"id": "na", "strategy": "round_robin", "queue_timeout_minutes": 10,
         "reps": [{"id": "ana", "capacity": 2}, {"id": "ben", "capacity": 2}, {"id": "cy", "capacity": 2}]},
        {"id": "emea", "strategy": "weighted", "working_hours": {"days": {"mon": ["08:00", "17:00"]}},
         "reps": [{"id": "dora", "weight": 2}, {"id": "emil"}]},
        {"id": "desk", "strategy": "least_loaded", "reps": [{"id": "fay"}, {"id": "gus"}]},
    ],
    "rules": [
        {"id": "us", "priority": 10, "match": {"country": ["US"]}, "team": "na", "urgency": "hot"},
        {"id": "eu", "priority": 20, "match": {"country": ["DE", "FR"]}, "team": "emea", "urgency": "warm"},
    ],
    "fallback": {"team": "desk", "urgency": "cold"},
    "ownership": {"lookback_days": 30, "match_company_domain": True},
}


def _leads(rng: random.Random, count: int) -> list[tuple[LeadReceived, datetime | None]]:
    """Leads a minute apart, each with when it is first touched (None: never)."""
    leads = []
    for n in range(count):
        received = START + timedelta(minutes=n)
        person = rng.randrange(100)
        lead = LeadReceived(lead_id=f"lead-{n:03}", received_at=received, source="web_form",
                            country=rng.choice(["US", "US", "DE", "FR", "BR"]),
                            email=f"p{person}@acme{person % 25}.com")
        touched = received + timedelta(minutes=rng.uniform(1, 25)) if rng.random() < 0.8 else None
        leads.append((lead, touched))
    return leads


async def test_the_current_document_replays_exactly_what_the_router_did(databases: DatabaseFactory) -> None:
    engine = db.create_engine(await migrated(databases), schema="router")
    factory = db.create_session_factory(engine)
    documents = routing_documents()
    try:
        async with factory.begin() as session:
            await documents.save(session, DOCUMENT, origin="test", now=START)
        leads = _leads(random.Random(3), 150)
        touches = sorted((t, lead.lead_id) for lead, t in leads if t is not None)

        async def touch_until(moment: datetime) -> None:
            while touches and touches[0][0] <= moment:
                at, lead_id = touches.pop(0)
                async with factory.begin() as session:
                    await mark_touched(session, lead_id, occurred_at=at)

        for lead, _ in leads:  # as the router would: touches so far, the queue worker, then the new lead
            await touch_until(lead.received_at)
            await drain_queues(factory, documents, lead.received_at)
            async with factory.begin() as session:
                await route_received_lead(session, lead, active=await documents.active(session),
                                          now=lead.received_at)
        end = START + timedelta(minutes=170)
        await touch_until(end)
        await drain_queues(factory, documents, end)

        async with factory() as session:
            outcome = await run_backtest(session, parse_document(DOCUMENT), since=START, until=end)
        assert outcome.leads == 150
        assert outcome.changed == 0, outcome.reps()
        assert outcome.draft == outcome.actual
        assert all(r["actual"] > 0 for r in outcome.reps() if r["rep_id"])  # every team and strategy had work
    finally:
        await engine.dispose()
