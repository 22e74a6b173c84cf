"""The outbox relay on a real database: leased claims, several relays, and re-publishing what a broker lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import topics
from shared.db import create_engine, create_session_factory
from shared.events import ActivityRecorded, CloudEvent
from shared.kafka import EventPublisher, ensure_topics
from shared.outbox import OutboxRelay, add_to_outbox, outbox_marks_table, outbox_table
from shared.settings import KafkaSettings
from tests.conftest import DatabaseFactory
from tests.support import TopicReader

metadata = MetaData()
outbox = outbox_table(metadata)
marks = outbox_marks_table(metadata)


def _activity(lead_id: str, activity_id: str) -> CloudEvent:
    now = datetime.now(UTC)
    return CloudEvent.wrap(ActivityRecorded(lead_id=lead_id, activity_id=activity_id, type="note",
                                            occurred_at=now, received_at=now), source="test")


@pytest.fixture
async def session_factory(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(databases.new("relay"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _queue(session_factory: async_sessionmaker[AsyncSession], events: list[CloudEvent]) -> None:
    async with session_factory.begin() as session:
        for event in events:
            await add_to_outbox(session, outbox, event)


async def test_two_relays_on_one_outbox_publish_each_event_once_and_in_order(
        kafka_bootstrap: str, session_factory: async_sessionmaker[AsyncSession]) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await ensure_topics(settings, [topics.LEADS_ACTIVITY])
    events = [_activity("lead-two-relays", f"a{i}") for i in range(60)]
    publishers = [EventPublisher(settings), EventPublisher(settings)]
    relays = [OutboxRelay(session_factory=session_factory, table=outbox, publisher=p, poll_interval=0.01,
                          batch_size=7, marks_table=marks) for p in publishers]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        for start in range(0, 60, 10):  # trickled in while both relays are running
            await _queue(session_factory, events[start:start + 10])
            for relay in relays:
                relay.notify()
        async with TopicReader(kafka_bootstrap, topics.LEADS_ACTIVITY) as reader:
            await reader.wait_for(lambda e: e.subject == "lead-two-relays", count=60)
            await asyncio.sleep(0.3)  # give a second publication the chance to show up
            seen = [e.id for e in await reader.poll() if e.subject == "lead-two-relays"]
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*tasks)
        for publisher in publishers:
            await publisher.stop()
    assert seen == [e.id for e in events]
    assert sum(relay.published_total for relay in relays) == 60


class _Publisher:
    """A broker that acknowledges everything at increasing offsets of partition 0."""

    started = True

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_batch(self, messages: list[tuple[str, str, bytes]]) -> list[Any]:
        results = []
        for topic, _key, value in messages:
            results.append(type("Meta", (), {"topic": topic, "partition": 0, "offset": len(self.sent)})())
            self.sent.append(CloudEvent.from_bytes(value).id)
        return results


async def test_a_broker_behind_the_recorded_offsets_gets_every_retained_event_again_in_order(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    broker_ends: dict[tuple[str, int], int] = {}

    async def end_offsets(_topics: Sequence[str]) -> dict[tuple[str, int], int]:
        return dict(broker_ends)

    publisher = _Publisher()
    relay = OutboxRelay(session_factory=session_factory, table=outbox, publisher=publisher,  # type: ignore[arg-type]
                        marks_table=marks, end_offsets=end_offsets)
    events = [_activity("lead-lost", f"a{i}") for i in range(5)]
    await _queue(session_factory, events)
    assert await relay.publish_pending() == 5
    async with session_factory() as session:
        assert (await session.execute(select(marks.c.offset))).scalar_one() == 0  # the batch's first

    broker_ends[(topics.LEADS_ACTIVITY, 0)] = 5  # the broker holds all five: nothing to do
    assert await relay.check_broker() == []
    assert await relay.publish_pending() == 0

    broker_ends.clear()  # restarted empty: the topic is gone
    assert await relay.check_broker() == [topics.LEADS_ACTIVITY]
    assert await relay.publish_pending() == 5
    assert publisher.sent == [e.id for e in events] * 2

    broker_ends[(topics.LEADS_ACTIVITY, 0)] = 10  # caught up again
    assert await relay.check_broker() == []


async def test_offsets_that_go_back_on_publishing_reveal_a_restarted_broker_before_any_check(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    publisher = _Publisher()
    relay = OutboxRelay(session_factory=session_factory, table=outbox, publisher=publisher,  # type: ignore[arg-type]
                        marks_table=marks)  # no periodic check at all
    before = [_activity("lead-before", f"a{i}") for i in range(5)]
    await _queue(session_factory, before)
    assert await relay.publish_pending() == 5

    publisher.sent.clear()  # the broker restarted empty; new events land at offsets 0, 1, ...
    after = [_activity("lead-after", f"b{i}") for i in range(2)]
    await _queue(session_factory, after)
    assert await relay.publish_pending() == 2  # acknowledged from offset 0 again: not past the mark of 0
    assert await relay.publish_pending() == 7  # so everything retained goes out again, in order
    assert publisher.sent == [e.id for e in after] + [e.id for e in before + after]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def test_a_relay_killed_holding_the_head_delays_the_next_one_by_the_lease_only(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """kill -9 between claiming and publishing: the restarted process waits out OUTBOX_LEASE_SECONDS (5 s by
    default, so a crash costs seconds, not half a minute of a 30-minute window), then publishes everything."""
    from shared.outbox import service_relay
    from shared.settings import ServiceSettings

    lease = ServiceSettings(admin_token="t").outbox_lease_seconds
    assert lease <= 5
    clock = _Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    events = [_activity("lead-lease", f"a{i}") for i in range(3)]
    await _queue(session_factory, events)
    dead = OutboxRelay(session_factory=session_factory, table=outbox, publisher=_Publisher(),  # type: ignore[arg-type]
                       marks_table=marks, clock=clock, lease_seconds=lease)
    assert len(await dead._claim()) == 3  # claimed, then the process died before publishing

    publisher = _Publisher()
    restarted = service_relay(ServiceSettings(admin_token="t"), session_factory=session_factory, table=outbox,
                              marks_table=marks, publisher=publisher, clock=clock)  # type: ignore[arg-type]
    clock.current += timedelta(seconds=lease - 0.5)
    assert await restarted.publish_pending() == 0  # the dead relay's claim still stands
    clock.current += timedelta(seconds=1)
    assert await restarted.publish_pending() == 3
    assert publisher.sent == [e.id for e in events]


class _Statements:
    """The SQL statements run on an engine that read or change the outbox, while listening."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.seen: list[str] = []
        self._engine = session_factory.kw["bind"].sync_engine

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if " outbox" in statement and "outbox_marks" not in statement:
            self.seen.append(statement.split()[0].upper())

    def __enter__(self) -> _Statements:
        from sqlalchemy import event
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event
        event.remove(self._engine, "before_cursor_execute", self._record)


class _StuckPublisher(_Publisher):
    """A broker that fails every send until ``healthy`` (a relay's process that cannot publish)."""

    def __init__(self) -> None:
        super().__init__()
        self.healthy = False
        self.attempts = 0

    async def send_batch(self, messages: list[tuple[str, str, bytes]]) -> list[Any]:
        self.attempts += 1
        if not self.healthy:
            raise ConnectionError("broker away")
        return await super().send_batch(messages)


async def _eventually(probe: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_running_relay_publishes_what_a_transaction_commits_without_claiming_it(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The fast path: rows committed in the relay's process go out without a claim (no SELECT of the outbox,
    no UPDATE of a lease); the only statement after the commit marks them published."""
    publisher = _Publisher()
    relay = OutboxRelay(session_factory=session_factory, table=outbox, publisher=publisher,  # type: ignore[arg-type]
                        marks_table=marks, poll_interval=60)  # no periodic claim during the test
    task = asyncio.create_task(relay.run())
    try:
        await _eventually(lambda: relay._last_claim.year > 1)  # its first claim, at start, found nothing
        events = [_activity("lead-fast", f"a{i}") for i in range(5)]
        with _Statements(session_factory) as statements:
            await _queue(session_factory, events)
            await _eventually(lambda: len(publisher.sent) == 5)
            await _eventually(lambda: "UPDATE" in statements.seen)
        assert publisher.sent == [e.id for e in events]
        assert statements.seen == ["INSERT"] * 5 + ["UPDATE"]  # the five rows, then marking them published
        async with session_factory() as session:
            published = (await session.execute(select(outbox.c.published_at, outbox.c.claimed_until))).all()
        assert len(published) == 5 and all(p.published_at is not None and p.claimed_until is None
                                           for p in published)
    finally:
        await relay.stop()
        await task


async def test_rows_handed_to_a_relay_that_cannot_publish_go_out_in_order_after_it_recovers_or_elsewhere(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """A failed send keeps the rows (in order, leased): the relay claims them with anything older once the
    broker is back. Another relay leaves them alone until their lease runs out (the process may be dead),
    then publishes them itself."""
    clock = _Clock(datetime.now(UTC))
    stuck = _StuckPublisher()
    relay = OutboxRelay(session_factory=session_factory, table=outbox, publisher=stuck,  # type: ignore[arg-type]
                        marks_table=marks, poll_interval=60, clock=clock, lease_seconds=5)
    task = asyncio.create_task(relay.run())
    events = [_activity("lead-stuck", f"a{i}") for i in range(4)]
    try:
        await _eventually(lambda: relay._last_claim.year > 1)
        await _queue(session_factory, events)
        await _eventually(lambda: stuck.attempts >= 1)

        other_publisher = _Publisher()
        other_publisher.sent = stuck.sent  # one broker: its offsets go on from what either relay sent
        other = OutboxRelay(session_factory=session_factory, table=outbox,  # type: ignore[arg-type]
                            publisher=other_publisher, marks_table=marks, clock=clock, lease_seconds=5)
        assert await other.publish_pending() == 0  # leased to the first relay
        clock.current += timedelta(seconds=5.5)
        assert await other.publish_pending() == 4  # that relay's lease ran out: taken over, in order
        assert other_publisher.sent == [e.id for e in events]

        more = [_activity("lead-stuck", f"b{i}") for i in range(3)]
        await _queue(session_factory, more)
        stuck.healthy = True
        relay.wake()
        await _eventually(lambda: len(stuck.sent) == 7)
        await asyncio.sleep(0.2)  # a repeat of the first four would show up now
        assert stuck.sent == [e.id for e in events + more]  # the other relay marked the first four published
    finally:
        await relay.stop()
        await task
