"""Kafka plumbing: topic creation, the event publisher and the transactional, idempotent consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord, RecordMetadata
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import inbox
from shared.backoff import backoff_delay
from shared.db import take_write_lock
from shared.events import CloudEvent, UnknownEventType, UnknownEventVersion
from shared.failures import Failure, PoisonMessage, classify, describe
from shared.logging import get_logger
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic

log = get_logger(__name__)

Handler = Callable[[CloudEvent, AsyncSession, int], Awaitable[None]]
"""A consumer handler: ``(event, session, partition)``; its writes commit together with the event id."""

DEAD_LETTERED = Counter("leadrouter_dead_lettered_total", "Messages moved to a dead-letter topic.",
                        ["topic", "reason"])
HELD = Counter("leadrouter_consumer_held_total",
               "Times a partition was paused because of an infrastructure failure (retried without limit).",
               ["topic", "error"])

__all__ = ["DEAD_LETTERED", "EventConsumer", "EventPublisher", "PoisonMessage", "decode", "ensure_topics"]


async def ensure_topics(settings: KafkaSettings, topics: Iterable[str], *, timeout: float = 30.0) -> None:
    """Create each topic (and its DLQ) when missing, retrying until the broker answers or ``timeout``."""
    wanted = sorted({t for topic in topics for t in (topic, dead_letter_topic(topic))})
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    client_id=f"{settings.kafka_client_id}-admin")
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if missing:
                try:
                    await admin.create_topics([
                        NewTopic(t, settings.kafka_topic_partitions, settings.kafka_replication_factor)
                        for t in missing
                    ])
                except TopicAlreadyExistsError:
                    pass  # another service created them first
                log.info("kafka.topics_created", topics=missing)
            return
        except KafkaError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(
                    f"Kafka at {settings.kafka_bootstrap_servers} did not answer within {timeout:.0f}s; "
                    "check KAFKA_BOOTSTRAP_SERVERS."
                ) from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


class EventPublisher:
    """A started-once producer with ``acks=all``. Order per lead holds because the key is the lead id."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=self._settings.kafka_client_id,
            acks="all",
            enable_idempotence=False,  # exactly-once effects come from the outbox + idempotent consumers
            request_timeout_ms=10_000,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # release its connections; the caller retries with a new one
            raise
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def started(self) -> bool:
        return self._producer is not None

    async def send(self, topic: str, *, key: str, value: bytes | None,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        if self._producer is None:
            raise RuntimeError("The publisher is not started.")
        await self._producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)

    async def send_batch(self, messages: list[tuple[str, str, bytes]]) -> list[RecordMetadata]:
        """Send ``(topic, key, value)`` messages in order and wait until the broker acknowledged all; return
        where each landed (topic, partition, offset)."""
        if self._producer is None:
            raise RuntimeError("The publisher is not started.")
        pending = [await self._producer.send(topic, value=value, key=key.encode())
                   for topic, key, value in messages]
        return list(await asyncio.gather(*pending))

    async def publish(self, topic: str, event: CloudEvent) -> None:
        await self.send(topic, key=event.subject, value=event.to_bytes())

    async def ping(self) -> None:
        """Raise if no broker answers a metadata request."""
        if self._producer is None:
            raise RuntimeError("The publisher is not started.")
        await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=3)


def decode(value: bytes | None) -> CloudEvent:
    """The CloudEvent in a message's value; raises for a tombstone or anything that is not one."""
    if value is None:
        raise PoisonMessage("The message has no value (a tombstone); every event carries one.")
    try:
        return CloudEvent.from_bytes(value)
    except ValidationError:
        raise
    except ValueError as exc:
        raise UndecodableMessage(f"The message is not a valid CloudEvent: {exc}") from exc


class UndecodableMessage(PoisonMessage):
    """The bytes of a message are not a JSON CloudEvent."""


def dead_letter_reason(value: bytes | None, exc: BaseException) -> str:
    """A bounded label for the metric and the ``error-reason`` header."""
    if value is None:
        return "tombstone"
    if isinstance(exc, RecursionError):
        return "too_deep"
    if isinstance(exc, ValidationError):
        return "invalid_event"
    if isinstance(exc, UnknownEventType):
        return "unknown_type"
    if isinstance(exc, UnknownEventVersion):
        return "unknown_version"
    if isinstance(exc, UndecodableMessage):
        return "undecodable"
    if isinstance(exc, PoisonMessage):
        return "poison"
    return "handler_error"


class _PartitionTracker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: EventConsumer, kafka: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._kafka = kafka  # called while it starts too, before the EventConsumer holds it

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._consumer._committed()  # the offsets of what was handled reach the group before it rebalances
        self._consumer._assigned -= {tp.partition for tp in revoked}
        for tp in revoked:  # whoever owns it next retries the held message
            self._consumer._catching_up.pop(tp, None)
            self._consumer._held.pop(tp, None)
            self._consumer._failing.pop(tp, None)
            self._consumer._hold_attempts.pop(tp, None)
        if self._consumer.on_assignment is not None:
            self._consumer.on_assignment(frozenset(self._consumer._assigned))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._consumer._note_backlog(self._kafka, assigned)
        self._consumer._assigned |= {tp.partition for tp in assigned}
        if self._consumer.on_assignment is not None:
            self._consumer.on_assignment(frozenset(self._consumer._assigned))


class EventConsumer:
    """Consume ``topics`` in group ``group_id``.

    A message's handler runs inside a database transaction together with the record of its event id, so a
    redelivered event is skipped and an effect is never applied twice. Consecutive messages of a partition
    share one transaction (up to ``kafka_handler_batch_size``); if any of them fails, they are redone one
    per transaction, so one bad message never holds up or undoes the others. Offsets are committed only
    after the handlers succeeded.

    Failures are classified (``shared.failures``): an infrastructure failure (database or broker away, lock
    timeout) pauses the partition at that message and retries it with backoff without limit, reporting
    not-ready meanwhile; a message that cannot be decoded or validated, or whose handler keeps failing, goes
    to ``<topic>.dlq`` with headers naming the error and its origin. If even the DLQ cannot be written, the
    message is held the same way. No per-message failure ends the loop.
    """

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        group_id: str,
        topics: list[str],
        handler: Handler,
        session_factory: async_sessionmaker[AsyncSession],
        processed_events: Table,
        publisher: EventPublisher,
        after_commit: Callable[[], None] | None = None,
        on_assignment: Callable[[frozenset[int]], None] | None = None,
        fetch_max_wait_ms: int = 5,
    ) -> None:
        self._settings = settings
        self.group_id = group_id
        self.topics = list(topics)
        self._handler = handler
        self._session_factory = session_factory
        self._processed = processed_events
        self._publisher = publisher
        self._after_commit = after_commit
        self.on_assignment = on_assignment
        #: How long the broker may hold a fetch with nothing to return. Short, because a broker that does not
        #: answer a waiting fetch as soon as a message arrives (the embedded one) delays each message by about
        #: half of it; a consumer whose messages are not urgent passes more and spares both sides the polling.
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._assigned: set[int] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._commit_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._held: dict[TopicPartition, float] = {}  # paused partition -> when to try again
        #: Assigned partitions still behind where they ended at assignment -> that end offset.
        self._catching_up: dict[TopicPartition, int] = {}
        self._hold_attempts: dict[TopicPartition, int] = {}
        self._failing: dict[TopicPartition, str] = {}
        #: Base and cap, in seconds, of the backoff while a partition is held (tests shorten them).
        self.hold_backoff = (0.5, 30.0)
        self.handler_backoff = (0.2, 5.0)

    @property
    def assigned_partitions(self) -> frozenset[int]:
        return frozenset(self._assigned)

    @property
    def caught_up_partitions(self) -> frozenset[int]:
        """Assigned partition numbers whose every topic has been handled up to where it ended when it was
        assigned. Work that depends on what these messages say (the SLA ticker: a touch may wait in the backlog)
        must not act on a partition before that: after a restart or a rebalance, a breach fired ahead of a
        touch still in the backlog would be a false one."""
        behind = {tp.partition for tp in self._catching_up}
        return frozenset(self._assigned - behind)

    async def _note_backlog(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        """Remember where each newly assigned partition ends now; it is caught up once handled to there."""
        if not assigned:
            return
        try:
            ends = await consumer.end_offsets(assigned)
            firsts = await consumer.beginning_offsets(assigned)
            for tp in assigned:
                start = await consumer.committed(tp)  # where this group goes on; None: from the beginning
                if (firsts.get(tp, 0) if start is None else start) < ends.get(tp, 0):
                    self._catching_up[tp] = ends[tp]
        except Exception as exc:  # never hold the partition's other work back for want of this figure
            log.warning("kafka.backlog_unknown", partitions=len(assigned), error=type(exc).__name__)

    def _handled_up_to(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            if tp in self._catching_up and offset >= self._catching_up[tp]:
                del self._catching_up[tp]

    @property
    def status(self) -> str:
        """``ok`` while consuming; what is failing while a partition is held; for readiness."""
        if self._consumer is None:
            return "not running"
        if self._failing:
            errors = sorted(set(self._failing.values()))
            return f"retrying ({', '.join(errors)})"
        return "ok"

    async def start(self) -> None:
        session_timeout = self._settings.kafka_session_timeout_ms
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=self._settings.kafka_client_id,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            session_timeout_ms=session_timeout,
            heartbeat_interval_ms=max(100, session_timeout // 5),
        )
        consumer.subscribe(self.topics, listener=_PartitionTracker(self, consumer))
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer

    async def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Process messages until ``stop()``; then leave the group cleanly."""
        if self._consumer is None:
            await self.start()
        consumer = self._consumer
        assert consumer is not None
        try:
            while not self._stopping.is_set():
                self._resume_due(consumer)
                batches = await consumer.getmany(timeout_ms=200, max_records=200)
                if await self._handle_all_together(consumer, batches):
                    continue
                for tp, records in batches.items():
                    if tp in self._held or self._stopping.is_set():
                        continue  # fetched before the pause; the seek makes them come again
                    done = await self._handle_partition(consumer, tp, records)
                    if done is not None:
                        await self._commit(consumer, {tp: done})
        finally:
            self._held.clear()
            self._catching_up.clear()
            self._failing.clear()
            self._consumer = None
            with suppress(Exception):  # logged by the commit itself
                await self._committed()
            await consumer.stop()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` while the next poll is already being handled: the broker round trip is off the
        path of every message. One commit is in flight at a time, so offsets reach the group in order. A
        commit that is lost (crash, rebalance) only means redelivery, which the processed-event table makes
        harmless."""
        self._handled_up_to(offsets)
        await self._committed()
        self._commit_task = asyncio.create_task(self._commit_now(consumer, offsets))

    async def _committed(self) -> None:
        """Wait for the commit in flight, if any."""
        task, self._commit_task = self._commit_task, None
        if task is not None:
            await task

    @staticmethod
    async def _commit_now(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved to another instance during the batch; it will redeliver these records and
            # the processed-event table makes that harmless.
            log.warning("kafka.commit_skipped", partitions=len(offsets), error=type(exc).__name__)
        except KafkaError as exc:  # the broker is away: the next commit carries these offsets too
            log.warning("kafka.commit_failed", partitions=len(offsets), error=type(exc).__name__)

    async def _handle_all_together(self, consumer: AIOKafkaConsumer,
                                   batches: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Handle what one poll brought from several partitions in a single transaction (one commit instead of
        one per partition; under load a partition no longer waits for the others' commits). False, with nothing
        applied or committed, when that is not possible or fails: then each partition goes its own way."""
        size = self._settings.kafka_handler_batch_size
        ready = {tp: records for tp, records in batches.items() if tp not in self._held and records}
        if len(ready) < 2 or self._stopping.is_set() or any(len(records) > size for records in ready.values()):
            return False
        if not await self._process_together([r for records in ready.values() for r in records]):
            return False
        for tp in ready:
            self._healthy(tp)
        await self._commit(consumer, {tp: records[-1].offset + 1 for tp, records in ready.items()})
        return True

    def _resume_due(self, consumer: AIOKafkaConsumer) -> None:
        now = asyncio.get_running_loop().time()
        for tp, at in list(self._held.items()):
            if now >= at:
                del self._held[tp]
                if tp in consumer.assignment():
                    consumer.resume(tp)

    def _hold(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, error: str) -> None:
        """Pause ``tp`` at ``offset`` (not committed) and try it again after a backoff; keep polling the rest."""
        if tp not in consumer.assignment():
            return  # revoked meanwhile: its next owner starts from the last committed offset
        attempt = self._hold_attempts.get(tp, 0) + 1
        self._hold_attempts[tp] = attempt
        self._failing[tp] = error
        delay = backoff_delay(attempt, base=self.hold_backoff[0], cap=self.hold_backoff[1])
        HELD.labels(topic=tp.topic, error=error).inc()
        log.warning("kafka.partition_held", topic=tp.topic, partition=tp.partition, offset=offset,
                    attempt=attempt, retry_in=round(delay, 2), error=error)
        consumer.seek(tp, offset)
        consumer.pause(tp)
        self._held[tp] = asyncio.get_running_loop().time() + delay

    def _healthy(self, tp: TopicPartition) -> None:
        self._hold_attempts.pop(tp, None)
        self._failing.pop(tp, None)

    async def _handle_partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                                records: list[ConsumerRecord]) -> int | None:
        """Handle ``records`` of one partition in order; the offset to commit (None: nothing new done)."""
        done: int | None = None
        size = self._settings.kafka_handler_batch_size
        for start in range(0, len(records), size):
            chunk = records[start:start + size]
            if len(chunk) > 1 and await self._process_together(chunk):
                done = chunk[-1].offset + 1
                self._healthy(tp)
                continue
            for record in chunk:
                error = await self._process(record)
                if error is not None:
                    if not self._stopping.is_set():
                        self._hold(consumer, tp, record.offset, error)
                    return done
                done = record.offset + 1
                self._healthy(tp)
        return done

    async def _process_together(self, records: list[ConsumerRecord]) -> bool:
        """Handle ``records`` (of one or several partitions, each in order) in one transaction; False, with
        nothing applied, if any of them fails.

        The batch is checked against the processed events with one query and recorded with one statement; a
        handler that can take several events at once (``shared.dispatch``) gets them together."""
        try:
            async with self._session_factory.begin() as session:
                await take_write_lock(session, self._processed)  # it records the batch: a writer from the start
                events = [(decode(record.value), record.partition) for record in records]
                seen = await inbox.processed_among(session, self._processed, [e.id for e, _ in events])
                fresh: list[tuple[CloudEvent, int]] = []
                for event, partition in events:
                    if event.id not in seen:
                        seen.add(event.id)
                        fresh.append((event, partition))
                handle_many = getattr(self._handler, "handle_many", None)
                if handle_many is not None:
                    await handle_many(fresh, session)
                else:
                    for event, partition in fresh:
                        await self._handler(event, session, partition)
                await inbox.mark_many_processed(session, self._processed, [e.id for e, _ in fresh],
                                                now=datetime.now(UTC))
        except Exception as exc:
            log.info("kafka.batch_redone_one_by_one", topic=records[0].topic, partition=records[0].partition,
                     messages=len(records), error=type(exc).__name__)
            return False
        if self._after_commit is not None:
            self._after_commit()
        return True

    async def _process(self, record: ConsumerRecord) -> str | None:
        """Handle one message, or dead-letter it; the error class name if it must be held and retried."""
        try:
            event = decode(record.value)
        except Exception as exc:  # whatever the bytes are, they will never decode: park them
            return await self._dead_letter(record, exc)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._session_factory.begin() as session:
                    await take_write_lock(session, self._processed)
                    await self._apply_once(session, event, record.partition)
            except Exception as exc:
                kind = classify(exc)
                if kind is Failure.TRANSIENT:
                    return type(exc).__name__
                if kind is Failure.POISON or attempt >= self._settings.kafka_handler_max_attempts:
                    return await self._dead_letter(record, exc, event_id=event.id)
                if self._stopping.is_set():
                    return type(exc).__name__  # left uncommitted; the next owner of the partition retries it
                delay = backoff_delay(attempt, base=self.handler_backoff[0], cap=self.handler_backoff[1])
                log.warning("kafka.handler_failed", event_id=event.id, event_type=event.type,
                            attempt=attempt, retry_in=round(delay, 2), error=describe(exc, limit=300))
                await asyncio.sleep(delay)
                continue
            if self._after_commit is not None:
                self._after_commit()
            return None

    async def _apply_once(self, session: AsyncSession, event: CloudEvent, partition: int) -> None:
        """Run the handler in ``session`` unless the event was processed before, and record that it was."""
        if await inbox.was_processed(session, self._processed, event.id):
            return
        await self._handler(event, session, partition)
        await inbox.mark_processed(session, self._processed, event.id, now=datetime.now(UTC))

    async def _dead_letter(self, record: ConsumerRecord, exc: BaseException, *,
                           event_id: str | None = None) -> str | None:
        """Park ``record`` on ``<topic>.dlq``; None when done, else the error that kept the DLQ from taking it."""
        reason = dead_letter_reason(record.value, exc)
        message = describe(exc)
        headers = [
            ("error", message.encode()),
            ("error-class", type(exc).__name__.encode()),
            ("error-reason", reason.encode()),
            ("origin-topic", record.topic.encode()),
            ("origin-partition", str(record.partition).encode()),
            ("origin-offset", str(record.offset).encode()),
            ("consumer-group", self.group_id.encode()),
            ("dead-lettered-at", datetime.now(UTC).isoformat().encode()),
        ]
        if event_id is not None:
            headers.append(("event-id", event_id.encode()[:200]))
        key = record.key.decode(errors="replace") if record.key else ""
        try:
            await self._publisher.send(dead_letter_topic(record.topic), key=key, value=record.value,
                                       headers=headers)
        except Exception as publish_error:
            log.error("kafka.dead_letter_failed", topic=record.topic, partition=record.partition,
                      offset=record.offset, error=type(publish_error).__name__)
            return f"dead-letter: {type(publish_error).__name__}"
        DEAD_LETTERED.labels(topic=record.topic, reason=reason).inc()
        log.error("kafka.dead_lettered", topic=record.topic, partition=record.partition, offset=record.offset,
                  reason=reason, error_class=type(exc).__name__, error=message)
        return None
