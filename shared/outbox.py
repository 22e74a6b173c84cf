"""The transactional outbox: an event is stored with the change that caused it and published afterwards.

A service writes its rows and ``add_to_outbox`` in one transaction. ``OutboxRelay`` then publishes pending
rows in id order and marks them published. If the broker is away the rows wait; if the relay dies between
publishing and marking, the event is published again and consumers drop it by its id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import UTCDateTime
from shared.events import EVENT_TYPES, CloudEvent
from shared.kafka import EventPublisher
from shared.logging import get_logger
from shared.workers import Worker

log = get_logger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("payload", Text(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True),
        Index("ix_outbox_published_at_id", "published_at", "id"),
    )


def outbox_row(event: CloudEvent, *, topic: str | None = None) -> dict[str, object]:
    """The outbox row of ``event``; its topic comes from the event type unless given."""
    if topic is None:
        model = EVENT_TYPES.get(event.type)
        if model is None:
            raise ValueError(f"Event type {event.type!r} has no topic; pass one.")
        topic = model.topic
    return {"event_id": event.id, "topic": topic, "key": event.subject, "payload": event.to_json(),
            "created_at": datetime.now(UTC)}


async def add_to_outbox(session: AsyncSession, table: Table, event: CloudEvent, *, topic: str | None = None) -> None:
    """Queue ``event`` for publishing; it is published only if the surrounding transaction commits."""
    await session.execute(insert(table).values(**outbox_row(event, topic=topic)))


async def add_many_to_outbox(session: AsyncSession, table: Table, events: list[CloudEvent]) -> None:
    """Queue several events with one statement, in order."""
    if events:
        await session.execute(insert(table), [outbox_row(event) for event in events])


class OutboxRelay(Worker):
    """Publish the outbox to Kafka: woken by ``notify()`` after a commit, or every ``poll_interval`` seconds."""

    name = "outbox"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], table: Table,
                 publisher: EventPublisher, poll_interval: float = 0.5, batch_size: int = 200,
                 retention: timedelta = timedelta(days=7)) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._table = table
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._retention = retention
        self._last_cleanup = datetime.min.replace(tzinfo=UTC)
        self.published_total = 0

    def notify(self) -> None:
        self.wake()

    async def work(self) -> bool:
        if not self._publisher.started:
            await self._publisher.start()  # the broker may have been away at start
        if datetime.now(UTC) - self._last_cleanup > timedelta(hours=1):
            await self._delete_old()
            self._last_cleanup = datetime.now(UTC)
        return await self.publish_pending() > 0

    async def idle_seconds(self) -> float:
        return self._poll_interval

    async def publish_pending(self) -> int:
        """Publish one batch of pending events in order; return how many were published."""
        table = self._table
        async with self._session_factory.begin() as session:
            if session.get_bind().dialect.name == "sqlite":
                # SQLite has no row locks: take its write lock first, so that two relays on one database
                # file publish one after the other instead of both publishing the same rows.
                await session.execute(update(table).where(table.c.id == -1).values(published_at=None))
            rows = (await session.execute(
                select(table.c.id, table.c.topic, table.c.key, table.c.payload)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)  # several instances never publish the same row at once
            )).all()
            if not rows:
                return 0
            await self._publisher.send_batch([(r.topic, r.key, r.payload.encode()) for r in rows])
            await session.execute(update(table).where(table.c.id.in_([r.id for r in rows]))
                                  .values(published_at=datetime.now(UTC)))
        self.published_total += len(rows)
        return len(rows)

    async def _delete_old(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        async with self._session_factory.begin() as session:
            await session.execute(delete(self._table).where(self._table.c.published_at < cutoff))
