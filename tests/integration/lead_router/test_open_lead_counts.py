"""Each rep's open-lead count is kept by the database (triggers on ``assignments``), so routing reads it
instead of counting every open lead; it must equal the count from ``assignments`` after any change, made by
the router's own code or by any other statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from lead_router import tables
from lead_router.config_store import routing_documents
from lead_router.routing import route_received_leads
from lead_router.state_store import open_lead_counts, rep_states
from shared import db
from shared.events import LeadReceived
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import migrated

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
DOCUMENT = {
    "teams": [{"id": "na", "strategy": "round_robin",
               "reps": [{"id": "ana", "capacity": 4}, {"id": "ben", "capacity": 4}, {"id": "cy"}]}],
    "rules": [],
    "fallback": {"team": "na", "urgency": "hot"},
}


async def test_open_lead_counts_follow_every_change_of_assignments(databases: DatabaseFactory) -> None:
    engine = db.create_engine(await migrated(databases), schema="router")
    factory = db.create_session_factory(engine)
    documents = routing_documents()
    a, o = tables.assignments, tables.rep_open_leads

    async def kept() -> dict[str, int]:
        async with factory() as session:
            return {r.rep_id: r.open_leads for r in (await session.execute(select(o))).all() if r.open_leads}

    async def counted() -> dict[str, int]:
        async with factory() as session:
            return await open_lead_counts(session)

    try:
        async with factory.begin() as session:
            await documents.save(session, DOCUMENT, origin="test", now=NOW)
        leads = [LeadReceived(lead_id=f"lead-{n:02}", email=f"p{n}@acme.com", country="US", source="web_form",
                              received_at=NOW + timedelta(seconds=n)) for n in range(14)]
        async with factory.begin() as session:
            await route_received_leads(session, leads, active=await documents.active(session), now=NOW)
        assert await kept() == await counted() == {"ana": 4, "ben": 4, "cy": 6}
        async with factory() as session:
            states = await rep_states(session, ["ana", "ben", "cy", "dan"])
        assert {rep: s.open_leads for rep, s in states.items()} == {"ana": 4, "ben": 4, "cy": 6, "dan": 0}

        async with factory.begin() as session:  # touched: no longer open
            await session.execute(update(a).where(a.c.lead_id.in_(["lead-00", "lead-01"])).values(touched_at=NOW))
        async with factory.begin() as session:  # superseded by a reassignment to another rep
            await session.execute(update(a).where(a.c.lead_id == "lead-02").values(current=False,
                                                                                    state="superseded"))
            await session.execute(insert(a).values(lead_id="lead-02", state="assigned", current=True, team="na",
                                                   rep_id="ben", urgency="hot", explanation=[], config_version=1,
                                                   reason="reassigned", assigned_at=NOW))
        async with factory.begin() as session:  # an update that leaves it open changes nothing
            await session.execute(update(a).where(a.c.lead_id == "lead-05").values(explanation=["again"]))
        async with factory.begin() as session:  # moved from one rep to another in place
            await session.execute(update(a).where(a.c.lead_id == "lead-06").values(rep_id="ana"))
        async with factory.begin() as session:  # purged
            await session.execute(delete(a).where(a.c.lead_id.in_(["lead-03", "lead-04"])))
        async with factory.begin() as session:  # a rolled-back change leaves the counts alone
            await session.execute(delete(a))
            await session.rollback()
        assert await kept() == await counted()
        assert await counted() != {"ana": 4, "ben": 4, "cy": 6}  # the changes above did change the counts
    finally:
        await engine.dispose()
