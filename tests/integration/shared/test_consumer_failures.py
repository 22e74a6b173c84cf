"""Every per-message failure is contained, on a real broker and database: poison goes to the DLQ with its
error and origin, infrastructure failures are waited out (never dead-lettered), a failing DLQ is retried,
and the DLQ can be replayed once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import dlq, topics
from shared.db import create_engine, create_session_factory
from shared.dispatch import dispatch
from shared.events import ActivityRecorded, CloudEvent
from shared.inbox import processed_events_table
from shared.kafka import DEAD_LETTERED, EventConsumer, EventPublisher, ensure_topics
from shared.settings import KafkaSettings
from shared.workers import Supervisor
from tests.conftest import DatabaseFactory
from tests.support import eventually, read_raw

metadata = MetaData()
effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(64), nullable=False))
processed = processed_events_table(metadata)
TOPIC = topics.LEADS_ACTIVITY
DLQ = topics.dead_letter_topic(TOPIC)
PII = "jane.doe@example.com"


def _activity(lead_id: str, activity_id: str, *, event_id: str | None = None) -> CloudEvent:
    now = datetime.now(UTC)
    return CloudEvent.wrap(ActivityRecorded(lead_id=lead_id, activity_id=activity_id, type="note",
                                            occurred_at=now, received_at=now), source="test", event_id=event_id)


class FlakyPublisher(EventPublisher):
    """A real publisher whose first ``failures`` sends to a DLQ raise, as a broker outage would."""

    def __init__(self, settings: KafkaSettings, *, failures: int) -> None:
        super().__init__(settings)
        self.failures = failures
        self.dlq_attempts = 0

    async def send(self, topic: str, *, key: str, value: bytes | None,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        if topic.endswith(".dlq"):
            self.dlq_attempts += 1
            if self.dlq_attempts <= self.failures:
                from aiokafka.errors import KafkaTimeoutError
                raise KafkaTimeoutError()
        await super().send(topic, key=key, value=value, headers=headers)


@asynccontextmanager
async def _consuming(databases: DatabaseFactory, kafka: str, handler: Callable[..., Awaitable[None]], *,
                     publisher: EventPublisher | None = None, group: str = "failures",
                     **overrides: Any) -> AsyncIterator[tuple[Any, EventConsumer, Supervisor, EventPublisher]]:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka, kafka_session_timeout_ms=2000, **overrides)
    await ensure_topics(settings, [TOPIC])
    publisher = publisher or EventPublisher(settings)
    await publisher.start()
    engine = create_engine(databases.new("failures"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    session_factory = create_session_factory(engine)
    consumer = EventConsumer(settings=settings, group_id=group, topics=[TOPIC], handler=handler,
                             session_factory=session_factory, processed_events=processed, publisher=publisher)
    consumer.hold_backoff = (0.05, 0.3)
    consumer.handler_backoff = (0.01, 0.05)
    supervisor = Supervisor({"consumer": consumer})
    supervisor.start()
    try:
        yield session_factory, consumer, supervisor, publisher
    finally:
        await supervisor.stop()
        await publisher.stop()
        await engine.dispose()


async def _effects(session_factory: Any) -> list[str]:
    async with session_factory() as session:
        return list((await session.execute(select(effects.c.event_id).order_by(effects.c.id))).scalars())


async def _record(data: ActivityRecorded, *, event: CloudEvent, session: AsyncSession, **_: object) -> None:
    await session.execute(insert(effects).values(event_id=event.id))


async def _dlq_size(kafka: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        partitions = [TopicPartition(DLQ, p) for p in consumer.partitions_for_topic(DLQ) or ()]
        if not partitions:
            await consumer.topics()
            partitions = [TopicPartition(DLQ, p) for p in consumer.partitions_for_topic(DLQ) or ()]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_poison_of_every_kind_is_dead_lettered_with_its_origin_and_the_consumer_lives_on(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    before = {reason: DEAD_LETTERED.labels(topic=TOPIC, reason=reason)._value.get()
              for reason in ("tombstone", "too_deep", "undecodable", "invalid_event")}
    async with _consuming(databases, kafka_bootstrap, dispatch({ActivityRecorded: _record}),
                          kafka_handler_max_attempts=2) as (session_factory, consumer, supervisor, publisher):
        invalid = _activity("lead-p", "x").model_copy(update={"data": {"lead_id": "lead-p", "email": PII,
                                                                       "type": "carrier pigeon"}})
        poison: list[bytes | None] = [None, b"[" * 60_000 + b"]" * 60_000, b'{"not": json', invalid.to_bytes()]
        for value in poison:  # all with one key: one partition, in front of the good events
            await publisher.send(TOPIC, key="lead-p", value=value)
        good = [_activity("lead-p", f"good-{n}") for n in range(3)]
        for event in good:
            await publisher.publish(TOPIC, event)

        async def all_good() -> list[str] | None:
            ids = await _effects(session_factory)
            return ids if len(ids) >= 3 else None

        assert await eventually(all_good, what="the good events after the poison") == [e.id for e in good]
        dead = await read_raw(kafka_bootstrap, DLQ, count=4)
        headers = [{k: v.decode() for k, v in record.headers} for record in dead]
        assert [h["error-reason"] for h in headers] == ["tombstone", "too_deep", "undecodable", "invalid_event"]
        assert [int(h["origin-offset"]) for h in headers] == sorted(int(h["origin-offset"]) for h in headers)
        for h in headers:
            assert h["origin-topic"] == TOPIC and h["origin-partition"].isdigit() and h["error-class"]
            assert h["consumer-group"] == "failures" and h["error"]
            assert PII not in str(h)  # pydantic errors are rendered without their input
        assert "type" in headers[3]["error"] and headers[3]["event-id"] == invalid.id
        assert dead[0].value is None and dead[1].value == poison[1]  # parked as they came
        assert supervisor.readiness() == {"consumer": "ok"} and not supervisor.dead()
        for reason, count in before.items():
            assert DEAD_LETTERED.labels(topic=TOPIC, reason=reason)._value.get() == count + 1


async def test_a_failing_dlq_is_retried_and_nothing_behind_the_poison_is_committed_or_lost(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap)
    publisher = FlakyPublisher(settings, failures=3)
    async with _consuming(databases, kafka_bootstrap, dispatch({ActivityRecorded: _record}), publisher=publisher,
                          kafka_handler_max_attempts=1) as (session_factory, _consumer, supervisor, _):
        await publisher.send(TOPIC, key="lead-d", value=b"garbage")
        good = _activity("lead-d", "after-the-poison")
        await publisher.publish(TOPIC, good)

        async def handled() -> list[str] | None:
            return await _effects(session_factory) or None

        assert await eventually(handled, what="the event behind the poison") == [good.id]
        dead = await read_raw(kafka_bootstrap, DLQ, count=1)
        assert dead[0].value == b"garbage"
        assert publisher.dlq_attempts == 4
        assert not supervisor.dead() and supervisor.readiness() == {"consumer": "ok"}


async def test_a_database_outage_is_waited_out_and_the_event_is_processed_not_dead_lettered(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    outage = {"left": 12}
    states: list[str] = []

    async def flaky(data: ActivityRecorded, *, event: CloudEvent, session: AsyncSession, **_: object) -> None:
        if outage["left"] > 0:
            outage["left"] -= 1
            raise OperationalError("UPDATE clocks ...", {"email": PII}, Exception("database is locked"))
        await _record(data, event=event, session=session)

    async with _consuming(databases, kafka_bootstrap, dispatch({ActivityRecorded: flaky}),
                          kafka_handler_max_attempts=3) as (session_factory, consumer, supervisor, publisher):
        event = _activity("lead-o", "during-the-outage")
        await publisher.publish(TOPIC, event)

        async def handled() -> list[str] | None:
            states.append(supervisor.readiness()["consumer"])
            return await _effects(session_factory) or None

        assert await eventually(handled, what="the event once the database is back") == [event.id]
        assert outage["left"] == 0
        assert "retrying (OperationalError)" in states  # not ready while the database was away
        assert supervisor.readiness()["consumer"] == "ok"
        await asyncio.sleep(0.3)
        assert await _dlq_size(kafka_bootstrap) == 0


async def test_a_replayed_dead_letter_is_processed_once_and_a_second_replay_adds_nothing(
        kafka_bootstrap: str, databases: DatabaseFactory) -> None:
    fixed = {"yes": False}

    async def buggy(data: ActivityRecorded, *, event: CloudEvent, session: AsyncSession, **_: object) -> None:
        if not fixed["yes"]:
            raise KeyError("a handler bug")
        await _record(data, event=event, session=session)

    async with _consuming(databases, kafka_bootstrap, dispatch({ActivityRecorded: buggy}),
                          kafka_handler_max_attempts=2) as (session_factory, consumer, _supervisor, publisher):
        settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap)
        event = _activity("lead-r", "hit-by-a-bug")
        await publisher.publish(TOPIC, event)
        await read_raw(kafka_bootstrap, DLQ, count=1)
        status = await dlq.dlq_status(settings, group="failures", topics=[TOPIC])
        listed = status["topics"][DLQ]
        assert listed["count"] == 1 and listed["not_replayed"] == 1
        assert listed["recent"][0]["error_class"] == "KeyError" and listed["recent"][0]["event_id"] == event.id
        assert await dlq.dlq_status(settings, group="someone-else", topics=[TOPIC]) == {
            "group": "someone-else", "topics": {DLQ: {"count": 0, "not_replayed": 0, "recent": []}}}

        fixed["yes"] = True
        assert await dlq.replay(settings, group="failures", topics=[TOPIC], publisher=publisher) == {
            "replayed": 1, "skipped": 0}

        async def handled() -> list[str] | None:
            return await _effects(session_factory) or None

        assert await eventually(handled, what="the replayed event") == [event.id]
        assert await dlq.replay(settings, group="failures", topics=[TOPIC], publisher=publisher) == {
            "replayed": 0, "skipped": 0}
        await publisher.publish(TOPIC, event)  # a replay that was cut short and run again: a repeat
        await publisher.publish(TOPIC, _activity("lead-r", "marker", event_id="marker"))

        async def marker() -> list[str] | None:
            ids = await _effects(session_factory)
            return ids if "marker" in ids else None

        assert await eventually(marker, what="the marker") == [event.id, "marker"]
        after = (await dlq.dlq_status(settings, group="failures", topics=[TOPIC]))["topics"][DLQ]
        assert after["count"] == 1 and after["not_replayed"] == 0
