"""The shared Kafka plumbing on a real broker and database: idempotent consumption, DLQ, ordered outbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import topics
from shared.db import create_engine, create_session_factory
from shared.events import ActivityRecorded, CloudEvent
from shared.inbox import processed_events_table
from shared.kafka import EventConsumer, EventPublisher, PoisonMessage, ensure_topics
from shared.outbox import OutboxRelay, add_to_outbox, outbox_table
from shared.settings import KafkaSettings
from tests.conftest import DatabaseFactory
from tests.support import TopicReader, eventually, read_raw

metadata = MetaData()
effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(64), nullable=False), Column("tx", Integer))
processed = processed_events_table(metadata)
outbox = outbox_table(metadata)


def _activity(lead_id: str, activity_id: str, *, event_id: str | None = None) -> CloudEvent:
    now = datetime.now(UTC)
    return CloudEvent.wrap(ActivityRecorded(lead_id=lead_id, activity_id=activity_id, type="note",
                                            occurred_at=now, received_at=now), source="test", event_id=event_id)


@asynccontextmanager
async def _database(databases: DatabaseFactory) -> AsyncIterator[tuple[object, object]]:
    engine = create_engine(databases.new("plumbing"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)  # a scratch schema for the plumbing alone
    try:
        yield engine, create_session_factory(engine)
    finally:
        await engine.dispose()


async def test_a_redelivered_event_has_one_effect_and_a_poison_message_goes_to_the_dlq(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=2000,
                             kafka_handler_max_attempts=2)
    await ensure_topics(settings, [topics.LEADS_ACTIVITY])
    publisher = EventPublisher(settings)
    await publisher.start()
    async with _database(databases) as (_engine, session_factory):
        async def handler(event: CloudEvent, session: AsyncSession, _partition: int) -> None:
            if event.data.get("activity_id") == "poison":
                raise PoisonMessage("this activity can never be processed")
            await session.execute(insert(effects).values(event_id=event.id))

        consumer = EventConsumer(settings=settings, group_id="plumbing", topics=[topics.LEADS_ACTIVITY],
                                 handler=handler, session_factory=session_factory,  # type: ignore[arg-type]
                                 processed_events=processed, publisher=publisher)
        task = asyncio.create_task(consumer.run())
        try:
            twice = _activity("lead-1", "a1", event_id="evt-1")
            for event in (twice, twice, _activity("lead-1", "poison"), _activity("lead-2", "a2")):
                await publisher.publish(topics.LEADS_ACTIVITY, event)
            await publisher.send(topics.LEADS_ACTIVITY, key="lead-3", value=b"not json")

            async def effect_ids() -> list[str] | None:
                async with session_factory() as session:  # type: ignore[operator]
                    ids = list((await session.execute(select(effects.c.event_id))).scalars())
                return ids if len(ids) >= 2 else None

            ids = await eventually(effect_ids, what="the effects of the two good events")
            assert len(ids) == 2 and ids.count("evt-1") == 1

            dead = await read_raw(kafka_bootstrap, topics.dead_letter_topic(topics.LEADS_ACTIVITY), count=2)
            errors = [dict(record.headers)["error"].decode() for record in dead]
            assert any("this activity can never be processed" in e for e in errors)
            assert any("not a valid CloudEvent" in e for e in errors)
        finally:
            await consumer.stop()
            await task
            await publisher.stop()


async def test_a_backlog_is_handled_in_shared_transactions_and_one_bad_message_does_not_undo_the_rest(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=2000,
                             kafka_handler_max_attempts=1, kafka_handler_batch_size=20)
    await ensure_topics(settings, [topics.LEADS_ACTIVITY])
    publisher = EventPublisher(settings)
    await publisher.start()
    backlog = [_activity("backlog-lead", f"b{n}", event_id=f"backlog-{n}") for n in range(45)]
    backlog.insert(25, _activity("backlog-lead", "poison", event_id="backlog-poison"))
    backlog.insert(8, backlog[3])  # a redelivery inside the same transaction
    for event in backlog:  # all on one partition, waiting before the consumer starts
        await publisher.publish(topics.LEADS_ACTIVITY, event)
    transactions = iter(range(10_000))
    async with _database(databases) as (_engine, session_factory):
        async def handler(event: CloudEvent, session: AsyncSession, _partition: int) -> None:
            if event.data.get("activity_id") == "poison":
                raise PoisonMessage("this activity can never be processed")
            await session.execute(insert(effects).values(event_id=event.id,
                                                         tx=session.info.setdefault("tx", next(transactions))))

        consumer = EventConsumer(settings=settings, group_id="backlog", topics=[topics.LEADS_ACTIVITY],
                                 handler=handler, session_factory=session_factory,  # type: ignore[arg-type]
                                 processed_events=processed, publisher=publisher)
        task = asyncio.create_task(consumer.run())
        try:
            async def applied() -> list[tuple[str, int]] | None:
                async with session_factory() as session:  # type: ignore[operator]
                    rows = (await session.execute(select(effects.c.event_id, effects.c.tx)
                                                  .where(effects.c.event_id.like("backlog-%"))
                                                  .order_by(effects.c.id))).all()
                return [(r.event_id, r.tx) for r in rows] if len(rows) >= 45 else None

            rows = await eventually(applied, what="the backlog's effects")
        finally:
            await consumer.stop()
            await task
            await publisher.stop()
    assert [event_id for event_id, _ in rows] == [f"backlog-{n}" for n in range(45)]  # once each, in order
    per_transaction = Counter(tx for _, tx in rows)
    assert max(per_transaction.values()) >= 10  # clean runs of the backlog shared a transaction
    assert len(per_transaction) > 3  # the run holding the poison message was redone one by one


async def test_the_outbox_publishes_in_order_and_only_once(kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await ensure_topics(settings, [topics.LEADS_ACTIVITY])
    publisher = EventPublisher(settings)
    async with _database(databases) as (_engine, session_factory):
        events = [_activity("lead-ordered", f"a{i}") for i in range(20)]
        async with session_factory.begin() as session:  # type: ignore[attr-defined]
            for event in events:
                await add_to_outbox(session, outbox, event)
        relay = OutboxRelay(session_factory=session_factory, table=outbox,  # type: ignore[arg-type]
                            publisher=publisher, poll_interval=0.05)
        task = asyncio.create_task(relay.run())
        try:
            async with TopicReader(kafka_bootstrap, topics.LEADS_ACTIVITY) as reader:
                seen = await reader.wait_for(lambda e: e.subject == "lead-ordered", count=20)
                await asyncio.sleep(0.3)  # give a wrong second publication the chance to show up
                seen = [e for e in await reader.poll() if e.subject == "lead-ordered"]
            assert [e.id for e in seen] == [e.id for e in events]
        finally:
            await relay.stop()
            await task
            await publisher.stop()


async def test_a_partition_is_caught_up_only_once_its_backlog_at_assignment_is_handled(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    """What waited in a partition when it was assigned (touches, after a restart) is handled before the
    partition counts as caught up, the figure the SLA ticker fires breaches by; an empty one is caught up at
    once."""
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=2000,
                             kafka_topic_partitions=2)
    topic = "backlog.test"
    await ensure_topics(settings, [topic])
    publisher = EventPublisher(settings)
    await publisher.start()
    release = asyncio.Event()
    async with _database(databases) as (_engine, session_factory):
        backlog = [_activity("lead-1", f"a{n}") for n in range(5)]  # one key: all in one partition
        results = await publisher.send_batch([(topic, event.subject, event.to_bytes()) for event in backlog])
        busy = {meta.partition for meta in results}
        assert len(busy) == 1

        async def handler(event: CloudEvent, session: AsyncSession, _partition: int) -> None:
            await release.wait()
            await session.execute(insert(effects).values(event_id=event.id))

        consumer = EventConsumer(settings=settings, group_id="backlog", topics=[topic], handler=handler,
                                 session_factory=session_factory,  # type: ignore[arg-type]
                                 processed_events=processed, publisher=publisher)
        task = asyncio.create_task(consumer.run())
        try:
            async def assigned() -> frozenset[int] | None:
                return consumer.assigned_partitions or None

            assert await eventually(assigned, what="the partitions assigned") == {0, 1}
            assert consumer.caught_up_partitions == {0, 1} - busy  # the backlog is not handled yet
            release.set()

            async def caught_up() -> frozenset[int] | None:
                return consumer.caught_up_partitions if consumer.caught_up_partitions == {0, 1} else None

            await eventually(caught_up, what="the busy partition caught up")
            async with session_factory() as session:  # type: ignore[operator]
                handled = set((await session.execute(select(effects.c.event_id))).scalars())
            assert handled == {event.id for event in backlog}
        finally:
            release.set()
            await consumer.stop()
            await asyncio.wait_for(task, timeout=15)
            await publisher.stop()
