"""The ticker on a real database: a clock it cannot process is quarantined and the others still fire; a clock
changed after it was read is never overwritten with the stale copy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.db import create_engine, create_session_factory
from sla_monitor import tables
from sla_monitor.clock_store import StaleClock, clock_from_row, insert_clock, save_clock
from sla_monitor.domain.clock import record_touch, start_clock
from sla_monitor.domain.policies import Policy
from sla_monitor.metrics import CLOCKS_QUARANTINED
from sla_monitor.routes import _clock_view
from sla_monitor.ticker import Ticker
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import migrated

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOT = Policy.model_validate({"first_response": "30m", "escalation": [{"after": "1h"}]})
#: What a policy stored before durations were bounded could hold: valid then, overflowing at the breach.
POISONED = {"first_response": "30m", "escalation": [{"after": "3000000d"}]}


class At:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
async def sessions(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await migrated(databases))
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _clock(sessions: async_sessionmaker[AsyncSession], clock_id: str, *,
                 policy_document: dict[str, Any] | None = None) -> None:
    async with sessions.begin() as session:
        await insert_clock(session, start_clock(HOT, assigned_at=T0), HOT, clock_id=clock_id, lead_id=clock_id,
                           partition=0, assignment_event_id=f"evt-{clock_id}", team="na", rep_id="rep-a",
                           urgency="hot", source=None, campaign=None, lead={}, policy_version=1, history=[])
        if policy_document is not None:  # written as an older release would have stored it
            await session.execute(tables.clocks.update().where(tables.clocks.c.clock_id == clock_id)
                                  .values(policy=policy_document))


async def _row(sessions: async_sessionmaker[AsyncSession], clock_id: str) -> Any:
    async with sessions() as session:
        return (await session.execute(select(tables.clocks).where(tables.clocks.c.clock_id == clock_id))).one()


def _ticker(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Ticker:
    return Ticker(session_factory=sessions, clock=clock, partitions=lambda: frozenset({0}), after_fire=lambda: None)


async def test_a_poisoned_clock_among_due_clocks_is_quarantined_and_the_others_still_fire(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await _clock(sessions, "healthy-1")
    await _clock(sessions, "poisoned", policy_document=POISONED)
    await _clock(sessions, "healthy-2")
    quarantined_before = CLOCKS_QUARANTINED._value.get()
    ticker = _ticker(sessions, At(T0 + timedelta(minutes=31)))

    assert await ticker.fire_due() == 3
    assert [(await _row(sessions, c)).state for c in ("healthy-1", "healthy-2")] == ["breached", "breached"]
    poisoned = await _row(sessions, "poisoned")
    assert poisoned.quarantined_at == T0 + timedelta(minutes=31) and poisoned.next_action_at is None
    assert CLOCKS_QUARANTINED._value.get() == quarantined_before + 1
    view = _clock_view(poisoned)
    assert view["quarantined_at"] is not None and view["quarantine_reason"].startswith("ValidationError")

    assert await ticker.fire_due() == 0  # quarantined clocks are left alone, not retried in a loop


async def test_a_clock_whose_next_action_overflows_is_quarantined_not_raised(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    near_the_end = {"first_response": "30m", "escalation": [{"after": "365d"}]}
    await _clock(sessions, "ends-of-time", policy_document=near_the_end)
    await _clock(sessions, "healthy")
    async with sessions.begin() as session:  # a breach so late that the next escalation is past datetime.max
        await session.execute(tables.clocks.update().where(tables.clocks.c.clock_id == "ends-of-time").values(
            due_at=datetime.max.replace(tzinfo=UTC) - timedelta(days=1), next_action_at=T0))
    assert await _ticker(sessions, At(datetime.max.replace(tzinfo=UTC) - timedelta(hours=1))).fire_due() == 2
    assert (await _row(sessions, "ends-of-time")).quarantined_at is not None
    assert (await _row(sessions, "healthy")).state == "breached"


async def test_a_stale_copy_of_a_clock_cannot_overwrite_a_touch_committed_after_it_was_read(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await _clock(sessions, "raced")
    stale = await _row(sessions, "raced")  # the ticker's read ...
    async with sessions.begin() as session:  # ... then the touch handler commits a call in time
        fresh = await _row(sessions, "raced")
        met, _ = record_touch(clock_from_row(fresh), HOT, at=T0 + timedelta(minutes=5), outbound=True)
        await save_clock(session, fresh, met, note="outbound call", now=T0 + timedelta(minutes=5))
    breached, _ = record_touch(clock_from_row(stale), HOT, at=T0 + timedelta(hours=2), outbound=True)
    with pytest.raises(StaleClock):
        async with sessions.begin() as session:  # ... and the ticker writes its breach from the stale copy
            await save_clock(session, stale, breached, note="breached", now=T0 + timedelta(minutes=31))
    row = await _row(sessions, "raced")
    assert (row.state, row.breached_at) == ("met", None)


async def test_the_ticker_redoes_a_batch_that_met_a_concurrent_touch_and_never_breaches_a_met_clock(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the ticker holds the clock's row lock, so the touch waits instead of racing")
    await _clock(sessions, "raced")
    from sla_monitor import ticker as ticker_module

    real_save = ticker_module.save_clocks
    other = create_engine(engine.url.render_as_string(hide_password=False))  # another instance's connection

    async def touch_commits_between_read_and_write(session: AsyncSession, changes: Any, *, now: datetime) -> None:
        if not getattr(touch_commits_between_read_and_write, "done", False):
            touch_commits_between_read_and_write.done = True  # type: ignore[attr-defined]
            async with create_session_factory(other).begin() as elsewhere:
                row = await _row(create_session_factory(other), "raced")
                met, _ = record_touch(clock_from_row(row), HOT, at=T0 + timedelta(minutes=5), outbound=True)
                await save_clock(elsewhere, row, met, note="outbound call", now=T0 + timedelta(minutes=5))
        await real_save(session, changes, now=now)

    monkeypatch.setattr(ticker_module, "save_clocks", touch_commits_between_read_and_write)
    ticker = _ticker(sessions, At(T0 + timedelta(minutes=31)))
    try:
        await ticker.fire_due()  # its copy is stale: nothing of the batch is written, it is redone
        await ticker.fire_due()
    finally:
        await other.dispose()
    row = await _row(sessions, "raced")
    assert (row.state, row.breached_at, row.next_action_at) == ("met", None, None)


async def test_a_touch_on_a_lead_with_a_poisoned_clock_quarantines_that_clock_and_meets_the_others(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    from shared.events import ActivityRecorded
    from sla_monitor.handlers import record_activity

    await _clock(sessions, "lead-x", policy_document=POISONED)
    async with sessions.begin() as session:
        await session.execute(tables.clocks.update().where(tables.clocks.c.clock_id == "lead-x")
                              .values(assignment_event_id="evt-old", clock_id="old-clock"))
    await _clock(sessions, "lead-x")  # a second, healthy clock of the same lead
    call = ActivityRecorded(lead_id="lead-x", activity_id="call-1", type="call", direction="outbound",
                            occurred_at=T0 + timedelta(minutes=2), received_at=T0 + timedelta(minutes=2))
    async with sessions.begin() as session:
        await record_activity(session, call, now=T0 + timedelta(minutes=2))
    assert (await _row(sessions, "old-clock")).quarantined_at == T0 + timedelta(minutes=2)
    assert (await _row(sessions, "lead-x")).state == "met"
