"""Two router instances deciding about the same lead at the same moment, on PostgreSQL (the database several
instances share): the lead is assigned once, because each instance locks the lead before it reads the lead's
current assignment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from lead_router import tables
from lead_router.config_store import routing_documents
from lead_router.queue import assign_queued, reassign
from lead_router.routing import route_received_lead
from lead_router.state_store import save_rep_state
from shared import db
from shared.events import LeadReceived, ReassignmentRequested
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import DOCUMENT, migrated
from tests.support import eventually

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def _waiting_on_a_lock(session_factory: Any, pid: int) -> bool | None:
    async with session_factory() as probe:
        wait = (await probe.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": pid})).scalar()
    return True if wait == "Lock" else None


async def test_two_instances_draining_the_same_queued_lead_assign_it_once(databases: DatabaseFactory) -> None:
    if databases.kind != "postgresql":
        pytest.skip("row and advisory locks are what PostgreSQL instances share; SQLite has one writer")
    engine = db.create_engine(await migrated(databases))
    session_factory = db.create_session_factory(engine)
    documents = routing_documents()
    try:
        async with session_factory.begin() as session:
            active = await documents.save(session, DOCUMENT, origin="api", now=NOW)
            for rep in ("rep-a", "rep-b", "rep-c"):
                await save_rep_state(session, rep, {"active": False}, now=NOW)
            lead = LeadReceived(lead_id="contested", received_at=NOW, source="web_form", country="US",
                                intent="demo_request")
            assert (await route_received_lead(session, lead, active=active, now=NOW))["state"] == "queued"
        async with session_factory.begin() as session:
            await save_rep_state(session, "rep-b", {"active": True}, now=NOW)

        first, second = session_factory(), session_factory()
        try:
            await first.begin()
            assert await assign_queued(first, "contested", active=active, now=NOW)  # holds its locks, uncommitted
            await second.begin()
            second_pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar()
            racing = asyncio.create_task(assign_queued(second, "contested", active=active, now=NOW))
            await eventually(lambda: _waiting_on_a_lock(session_factory, second_pid), timeout=10,
                             what="the second instance to wait for the first one's lock")
            await first.commit()
            assert await asyncio.wait_for(racing, timeout=10) is False
            await second.commit()
        finally:
            await first.close()
            await second.close()

        async with session_factory() as session:
            a = tables.assignments
            states = list((await session.execute(
                select(a.c.state).where(a.c.lead_id == "contested").order_by(a.c.id))).scalars())
            events = (await session.execute(select(func.count()).select_from(tables.outbox).where(
                tables.outbox.c.key == "contested"))).scalar()
        assert states == ["superseded", "assigned"]
        assert events == 1  # one lead.assigned, not two
    finally:
        await engine.dispose()


async def test_routing_to_an_owner_in_another_team_does_not_overwrite_that_teams_rotation(
        databases: DatabaseFactory) -> None:
    if databases.kind != "postgresql":
        pytest.skip("row locks are what PostgreSQL instances share; SQLite has one writer")
    engine = db.create_engine(await migrated(databases))
    session_factory = db.create_session_factory(engine)
    documents = routing_documents()
    cursors = tables.team_cursors
    try:
        async with session_factory.begin() as session:
            active = await documents.save(session, DOCUMENT, origin="api", now=NOW)
            first = LeadReceived(lead_id="first", received_at=NOW, source="web_form", country="DE",
                                 email="ana@example.com")
            assert (await route_received_lead(session, first, active=active, now=NOW))["rep_id"] == "rep-x"

        rotating, routing = session_factory(), session_factory()
        try:
            await rotating.begin()  # another instance, rotating team desk right now
            await rotating.execute(select(cursors).where(cursors.c.team_id == "desk").with_for_update())
            await routing.begin()
            routing_pid = (await routing.execute(text("SELECT pg_backend_pid()"))).scalar()
            returning = LeadReceived(lead_id="returning", received_at=NOW, source="web_form", country="US",
                                     intent="demo_request", email="ana@example.com")
            racing = asyncio.create_task(route_received_lead(routing, returning, active=active, now=NOW))
            await eventually(lambda: _waiting_on_a_lock(session_factory, routing_pid), timeout=10,
                             what="the routing to wait for team desk's cursor")
            await rotating.execute(update(cursors).where(cursors.c.team_id == "desk").values(last_rep_id="rep-y"))
            await rotating.commit()
            assert (await asyncio.wait_for(racing, timeout=10))["rep_id"] == "rep-x"  # the owner
            await routing.commit()
        finally:
            await rotating.close()
            await routing.close()

        async with session_factory() as session:
            last = (await session.execute(select(cursors.c.last_rep_id).where(cursors.c.team_id == "desk"))).scalar()
        assert last == "rep-y"  # the other instance's rotation survives
    finally:
        await engine.dispose()


async def test_two_instances_handling_the_same_reassignment_request_reassign_once(
        databases: DatabaseFactory) -> None:
    if databases.kind != "postgresql":
        pytest.skip("row and advisory locks are what PostgreSQL instances share; SQLite has one writer")
    engine = db.create_engine(await migrated(databases))
    session_factory = db.create_session_factory(engine)
    documents = routing_documents()
    try:
        async with session_factory.begin() as session:
            active = await documents.save(session, DOCUMENT, origin="api", now=NOW)
            lead = LeadReceived(lead_id="escalated", received_at=NOW, source="web_form", country="US",
                                intent="demo_request")
            assert (await route_received_lead(session, lead, active=active, now=NOW))["rep_id"] == "rep-a"
        request = ReassignmentRequested(lead_id="escalated", clock_id="c1", team="na", current_rep_id="rep-a",
                                        level=2, reason="not touched 30m after the breach")

        first, second = session_factory(), session_factory()
        try:
            await first.begin()
            assert await reassign(first, request, active=active, now=NOW)
            await second.begin()
            second_pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar()
            racing = asyncio.create_task(reassign(second, request, active=active, now=NOW))
            await eventually(lambda: _waiting_on_a_lock(session_factory, second_pid), timeout=10,
                             what="the second instance to wait for the first one's lock")
            await first.commit()
            assert await asyncio.wait_for(racing, timeout=10) is False  # rep-a no longer has it: stale
            await second.commit()
        finally:
            await first.close()
            await second.close()

        async with session_factory() as session:
            a = tables.assignments
            rows = (await session.execute(select(a.c.state, a.c.rep_id, a.c.reason)
                                          .where(a.c.lead_id == "escalated").order_by(a.c.id))).all()
        assert [tuple(r) for r in rows] == [("superseded", "rep-a", "initial"), ("assigned", "rep-b", "reassigned")]
    finally:
        await engine.dispose()
