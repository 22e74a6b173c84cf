"""Kafka plumbing: topic creation, the event publisher and the transactional, idempotent consumer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord, RecordMetadata
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import inbox
from shared.events import CloudEvent, UnknownEventType
from shared.logging import describe_error, get_logger, redact
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic

log = get_logger(__name__)

Handler = Callable[[CloudEvent, AsyncSession, int], Awaitable[None]]
"""A consumer handler: ``(event, session, partition)``; its writes commit together with the event id."""


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed; it goes straight to the DLQ."""


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

    async def send(self, topic: str, *, key: str, value: bytes,
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


class _PartitionTracker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._consumer._assigned -= {tp.partition for tp in revoked}
        if self._consumer.on_assignment is not None:
            self._consumer.on_assignment(frozenset(self._consumer._assigned))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._consumer._assigned |= {tp.partition for tp in assigned}
        if self._consumer.on_assignment is not None:
            self._consumer.on_assignment(frozenset(self._consumer._assigned))


class EventConsumer:
    """Consume ``topics`` in group ``group_id``.

    A message's handler runs inside a database transaction together with the record of its event id, so a
    redelivered event is skipped and an effect is never applied twice. Consecutive messages of a partition
    share one transaction (up to ``kafka_handler_batch_size``: one commit, and one fsync, for the lot); if
    any of them fails, the whole transaction rolls back and they are redone one per transaction, so one bad
    message never holds up or undoes the others. Offsets are committed only after the handlers of a batch
    succeeded. A message that cannot be decoded, or whose handler keeps failing, goes to ``<topic>.dlq``
    with the error in the ``error`` header.
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
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._topics = topics
        self._handler = handler
        self._session_factory = session_factory
        self._processed = processed_events
        self._publisher = publisher
        self._after_commit = after_commit
        self.on_assignment = on_assignment
        self._assigned: set[int] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()

    @property
    def assigned_partitions(self) -> frozenset[int]:
        return frozenset(self._assigned)

    async def start(self) -> None:
        session_timeout = self._settings.kafka_session_timeout_ms
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=self._settings.kafka_client_id,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
            session_timeout_ms=session_timeout,
            heartbeat_interval_ms=max(100, session_timeout // 5),
        )
        consumer.subscribe(self._topics, listener=_PartitionTracker(self))
        await consumer.start()
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
                batches = await consumer.getmany(timeout_ms=200, max_records=200)
                for tp, records in batches.items():
                    size = self._settings.kafka_handler_batch_size
                    for start in range(0, len(records), size):
                        chunk = records[start:start + size]
                        if len(chunk) == 1 or not await self._process_together(chunk):
                            for record in chunk:
                                await self._process(record)
                    try:
                        await consumer.commit({tp: records[-1].offset + 1})
                    except (CommitFailedError, IllegalStateError) as exc:
                        # The partition moved to another instance during the batch; it will redeliver
                        # these records and the processed-event table makes that harmless.
                        log.warning("kafka.commit_skipped", topic=tp.topic, partition=tp.partition,
                                    error=type(exc).__name__)
        finally:
            await consumer.stop()
            self._consumer = None

    async def _process_together(self, records: list[ConsumerRecord]) -> bool:
        """Handle ``records`` in one transaction; False, with nothing applied, if any of them fails."""
        try:
            async with self._session_factory.begin() as session:
                for record in records:
                    await self._apply_once(session, CloudEvent.from_bytes(record.value), record.partition)
        except Exception as exc:
            log.info("kafka.batch_redone_one_by_one", topic=records[0].topic, partition=records[0].partition,
                     messages=len(records), error=type(exc).__name__)
            return False
        if self._after_commit is not None:
            self._after_commit()
        return True

    async def _process(self, record: ConsumerRecord) -> None:
        try:
            event = CloudEvent.from_bytes(record.value)
        except (ValueError, ValidationError) as exc:
            await self._dead_letter(record, f"The message is not a valid CloudEvent: {describe_error(exc)}")
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._session_factory.begin() as session:
                    await self._apply_once(session, event, record.partition)
                if self._after_commit is not None:
                    self._after_commit()
                return
            except (PoisonMessage, ValidationError, UnknownEventType) as exc:
                await self._dead_letter(record, describe_error(exc))
                return
            except Exception as exc:
                if attempt >= self._settings.kafka_handler_max_attempts or self._stopping.is_set():
                    if self._stopping.is_set():
                        raise  # leave it uncommitted; the next owner of the partition retries it
                    await self._dead_letter(record, describe_error(exc))
                    return
                delay = min(30.0, 0.2 * 2 ** attempt) * (0.5 + random.random() / 2)
                log.warning("kafka.handler_failed", event_id=event.id, event_type=event.type,
                            attempt=attempt, retry_in=round(delay, 2),
                            error=describe_error(exc)[:300])
                await asyncio.sleep(delay)

    async def _apply_once(self, session: AsyncSession, event: CloudEvent, partition: int) -> None:
        """Run the handler in ``session`` unless the event was processed before, and record that it was."""
        if await inbox.was_processed(session, self._processed, event.id):
            return
        await self._handler(event, session, partition)
        await inbox.mark_processed(session, self._processed, event.id, now=datetime.now(UTC))

    async def _dead_letter(self, record: ConsumerRecord, error: str) -> None:
        error = redact(error)  # the header outlives every log: never an email or phone number in it
        log.error("kafka.dead_lettered", topic=record.topic, partition=record.partition,
                  offset=record.offset, error=error[:500])
        key = record.key.decode(errors="replace") if record.key else ""
        await self._publisher.send(dead_letter_topic(record.topic), key=key, value=record.value or b"",
                                   headers=[("error", error.encode()[:4000]),
                                            ("source-offset", str(record.offset).encode())])
