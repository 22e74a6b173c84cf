"""The board's queries on a real database: running and recently breached clocks (not met, cancelled or old
breaches) by time left, and a fingerprint that changes with any of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, create_session_factory
from sla_monitor import tables
from sla_monitor.board_store import BoardFilter, board_choices, board_fingerprint, board_rows
from sla_monitor.clock_store import insert_clock
from sla_monitor.domain.clock import start_clock
from sla_monitor.domain.policies import Policy
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import migrated

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
HOT = Policy.model_validate({"first_response": "30m"})
WINDOW = timedelta(hours=4)


@pytest.fixture
async def sessions(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await migrated(databases))
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _clock(sessions: async_sessionmaker[AsyncSession], lead_id: str, *, started: timedelta,
                 team: str = "na", rep_id: str = "rep-a", state: str = "running", **values: object) -> None:
    async with sessions.begin() as session:
        await insert_clock(session, start_clock(HOT, assigned_at=NOW - started), HOT, clock_id=lead_id,
                           lead_id=lead_id, partition=0, assignment_event_id=f"evt-{lead_id}", team=team,
                           rep_id=rep_id, urgency="hot", source="web_form", campaign=None,
                           lead={"company": f"{lead_id} Inc"}, policy_version=1, history=[])
        if state != "running" or values:
            await session.execute(update(tables.clocks).where(tables.clocks.c.clock_id == lead_id)
                                  .values(state=state, **values))


async def test_the_board_holds_running_and_recent_unanswered_breaches_most_urgent_first(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await _clock(sessions, "fresh", started=timedelta(minutes=1))
    await _clock(sessions, "older", started=timedelta(minutes=20), team="emea", rep_id="rep-b")
    await _clock(sessions, "breached", started=timedelta(minutes=40), state="breached",
                 breached_at=NOW - timedelta(minutes=10))
    await _clock(sessions, "old-breach", started=timedelta(hours=6), state="breached",
                 breached_at=NOW - timedelta(hours=5))
    await _clock(sessions, "answered-late", started=timedelta(minutes=50), state="breached",
                 breached_at=NOW - timedelta(minutes=20), responded_at=NOW - timedelta(minutes=5))
    await _clock(sessions, "met", started=timedelta(minutes=5), state="met", responded_at=NOW)
    await _clock(sessions, "cancelled", started=timedelta(minutes=5), state="cancelled", cancelled_at=NOW)
    async with sessions() as session:
        rows = await board_rows(session, now=NOW, breached_within=WINDOW)
        assert [r.lead_id for r in rows] == ["breached", "older", "fresh"]
        assert rows[0].status(NOW) == "breached" and rows[0].company == "breached Inc"
        emea = await board_rows(session, now=NOW, breached_within=WINDOW, filters=BoardFilter(team="emea"))
        assert [r.lead_id for r in emea] == ["older"]
        assert await board_choices(session, now=NOW, breached_within=WINDOW) == (["emea", "na"], ["rep-a", "rep-b"])


async def test_the_fingerprint_changes_when_a_clock_comes_changes_or_goes(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async def fingerprint() -> str:
        async with sessions() as session:
            return await board_fingerprint(session, now=NOW, breached_within=WINDOW)

    empty = await fingerprint()
    await _clock(sessions, "a", started=timedelta(minutes=1))
    one = await fingerprint()
    assert one != empty and await fingerprint() == one
    async with sessions.begin() as session:
        await session.execute(update(tables.clocks).values(version=tables.clocks.c.version + 1))
    changed = await fingerprint()
    async with sessions.begin() as session:
        await session.execute(update(tables.clocks).values(state="met"))
    assert len({empty, one, changed}) == 3 and await fingerprint() == empty


async def test_the_board_reads_open_clocks_through_their_index_not_every_clock(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """With a million clocks met long ago and a few hundred open, a scan of every clock would cost the board (and
    its fingerprint, every few seconds) more than all the rest: the planner must be able to use the partial
    ``ix_clocks_board`` for the queries exactly as the board sends them."""
    await _clock(sessions, "fresh", started=timedelta(minutes=1))
    engine = sessions.kw["bind"]
    sent: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "clocks" in statement:
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with sessions() as session:
            await board_rows(session, now=NOW, breached_within=WINDOW)
            await board_fingerprint(session, now=NOW, breached_within=WINDOW)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(sent) == 2
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:  # a table this small is cheaper to scan; ask whether the index can serve the query at all
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in sent:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = " ".join(str(cell) for row in await conn.exec_driver_sql(explain + statement, parameters)
                            for cell in row)
            assert "ix_clocks_board" in plan, plan
