"""The transactional outbox: an event is stored with the change that caused it and published afterwards.

Guarantees:
- A service writes its rows and ``add_to_outbox`` in one transaction: an event exists if and only if its
  change committed.
- ``OutboxRelay`` publishes pending rows in id order (so per lead in order), at least once. It never holds
  a database connection while it waits on the broker: it *claims* the head of the outbox in one short
  transaction (a lease of ``lease_seconds`` on those rows), publishes outside any transaction, then marks
  them published in another short transaction. While one relay's lease on the head is live, other relays
  (replicas) leave the outbox alone, so they neither publish the same rows in a tight loop nor reorder them.
  If a relay dies between publishing and marking, its lease runs out and the rows are published again;
  consumers drop the repeat by its event id.
- Fast path: while a relay runs in the process, the rows a transaction adds are written already leased to it
  (``claimed_until``, no extra statement) and handed to it in memory when that transaction commits. It
  publishes them at once, without a claim transaction or a read: one commit fewer between a change and its
  event on Kafka at every hop. The guarantees above hold unchanged: the rows are in the table, leased, so
  other relays leave them alone; if the process dies they are published when the lease runs out; this relay's
  own claims (at start, after a failure, and every ``poll_interval``) take them in id order with any older
  pending rows, so its events still leave in order, and it takes the fast path only once a claim found no
  other relay's lease ahead of its rows. Replicas each publish their own rows at once, so the events of two
  replicas may interleave on Kafka (each replica's in order; a lead's events come from the replica that owns
  its partition, or for intake from whichever took the request). A relay holding ``MAX_HANDED_OVER``
  unpublished rows (the broker is away) takes no more: later rows are written plain and claimed.
- Published rows are kept for the retention window (``shared.retention``). For each topic-partition the
  relay records the offset the broker gave its latest batch there; every ``broker_check_interval`` seconds it compares
  these marks with the broker's end offsets. A broker that is behind them (the embedded memory-only broker
  restarted, or a topic was deleted) has lost events: the retained rows of those topics are marked
  unpublished again and re-published in order, so nothing acknowledged within the window is lost.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared.clock import Clock, SystemClock
from shared.db import UTCDateTime
from shared.events import EVENT_TYPES, CloudEvent
from shared.kafka import EventPublisher
from shared.logging import get_logger
from shared.settings import ServiceSettings
from shared.workers import Worker

log = get_logger(__name__)

#: The most unpublished rows a relay holds in memory (the fast path); beyond, rows are written plain and claimed.
MAX_HANDED_OVER = 20_000

#: ``{(topic, partition): end offset}`` of the broker for the given topics (no entries for a missing topic).
EndOffsets = Callable[[Sequence[str]], Awaitable[dict[tuple[str, int], int]]]


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
        #: A relay claimed the row until then (it is publishing it); others leave it alone until it expires.
        Column("claimed_until", UTCDateTime(), nullable=True),
        Index("ix_outbox_published_at_id", "published_at", "id"),
    )


def outbox_marks_table(metadata: MetaData) -> Table:
    """Per topic-partition, the offset the broker gave the first of our latest events there: its end offset
    must stay above it, or it lost them."""
    return Table(
        "outbox_marks",
        metadata,
        Column("topic", String(255), primary_key=True),
        Column("partition", Integer(), primary_key=True, autoincrement=False),
        Column("offset", BigInteger(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
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
    await insert_outbox_rows(session, table, [outbox_row(event, topic=topic)])


async def add_many_to_outbox(session: AsyncSession, table: Table, events: list[CloudEvent]) -> None:
    """Queue several events with one statement, in order."""
    await insert_outbox_rows(session, table, [outbox_row(event) for event in events])


#: ``session.info`` key: the rows this transaction added, per relay, handed over when it commits.
_HANDED_OVER = "leadrouter.outbox.handed_over"
#: ``session.info`` key: this transaction wrote outbox rows without handing them over.
_WRITTEN_PLAIN = "leadrouter.outbox.written_plain"
#: The running relay of each (database, outbox table) in this process.
_running: weakref.WeakKeyDictionary[Engine, dict[str, OutboxRelay]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class _Row:
    """An outbox row handed over on commit, as the relay publishes it."""

    id: int
    topic: str
    key: str
    payload: str


async def insert_outbox_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (from ``outbox_row``) in order, in the session's transaction. With a relay running for
    this database in this process, they are written leased to it and handed to it when the transaction commits
    (the module's fast path)."""
    if not rows:
        return
    bind = session.get_bind()
    relay = _running.get(bind, {}).get(table.name) if isinstance(bind, Engine) else None
    if relay is None or not relay.takes_handed_over():
        await session.execute(_statements(table).insert, rows)
        session.info[_WRITTEN_PLAIN] = True
        return
    leased = relay.lease_end()
    ids = (await session.execute(_statements(table).insert_returning_ids,
                                 [{**row, "claimed_until": leased} for row in rows])).scalars().all()
    handed = session.info.setdefault(_HANDED_OVER, [])
    handed.append((relay, [_Row(i, r["topic"], r["key"], r["payload"]) for i, r in zip(ids, rows, strict=True)]))


class _Statements:
    """The statements run for every event, built once per outbox table: that skips SQLAlchemy's building and
    cache-key walk on each call (about half of a simple statement's CPU)."""

    def __init__(self, table: Table) -> None:
        self.insert = insert(table)
        self.insert_returning_ids = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        now = bindparam("now", type_=table.c.published_at.type)
        self.mark_published = (update(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
                               .values(published_at=now, claimed_until=None))


@functools.cache
def _statements(table: Table) -> _Statements:
    return _Statements(table)


@functools.cache
def _move_marks(marks: Table) -> Any:
    """Move a mark forward only ("offset < new" keeps it from going back if replicas interleave)."""
    return (update(marks).where(marks.c.topic == bindparam("t"), marks.c.partition == bindparam("p"),
                                marks.c.offset < bindparam("o"))
            .values(offset=bindparam("o"), updated_at=bindparam("u", type_=marks.c.updated_at.type)))


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    # Rows of the same transaction written plain (before the relay ran) must be claimed ahead of these.
    plain_too = session.info.pop(_WRITTEN_PLAIN, False)
    for relay, rows in session.info.pop(_HANDED_OVER, ()):
        relay.hand_over(rows, claim_first=plain_too)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(_HANDED_OVER, None)  # not committed: nothing to publish (and nothing was stored)
    session.info.pop(_WRITTEN_PLAIN, None)


class OutboxRelay(Worker):
    """Publish the outbox to Kafka: woken by ``notify()`` after a commit, or every ``poll_interval`` seconds."""

    name = "outbox"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], table: Table,
                 publisher: EventPublisher, poll_interval: float = 0.5, batch_size: int = 200,
                 lease_seconds: float = 5.0, marks_table: Table | None = None,
                 end_offsets: EndOffsets | None = None, broker_check_interval: float = 30.0,
                 on_broker_behind: Callable[[Sequence[str]], Awaitable[None]] | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._table = table
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_seconds)
        self._marks = marks_table
        self._end_offsets = end_offsets
        self._check_interval = broker_check_interval
        self._on_broker_behind = on_broker_behind
        self._clock = clock or SystemClock()
        self._last_check = datetime.min.replace(tzinfo=UTC)
        self.published_total = 0
        #: A batch claimed ahead by the transaction that marked the previous one published.
        self._next: list[Any] = []
        #: The marks this relay last read or wrote, so that publishing does not read them back every batch.
        self._known_marks: dict[tuple[str, int], int] | None = None
        #: Rows committed in this process, leased to this relay, not yet published (the fast path), in order.
        self._handed_over: deque[_Row] = deque()
        #: Whether a claim is needed before the next fast-path batch (at start, and after a failure).
        self._claim_first = True
        self._last_claim = datetime.min.replace(tzinfo=UTC)

    def notify(self) -> None:
        self.wake()

    def takes_handed_over(self) -> bool:
        """Whether rows added now may be leased and handed to this relay (it holds fewer than the cap)."""
        if len(self._handed_over) < MAX_HANDED_OVER:
            return True
        self._claim_first = True  # rows written plain from now on: claim them, behind the ones held
        return False

    def _fast(self) -> bool:
        """Whether this relay is the one rows are handed to (it runs): then it claims only when a claim is due,
        since every commit in this process hands its rows over."""
        bind = self._session_factory.kw.get("bind")
        return bind is not None and _running.get(bind.sync_engine, {}).get(self._table.name) is self

    def lease_end(self) -> datetime:
        return self._clock.now() + self._lease

    def hand_over(self, rows: list[_Row], *, claim_first: bool = False) -> None:
        """Rows just committed, leased to this relay: publish them next (called on commit); ``claim_first``:
        after a claim (older rows of theirs may be pending unleased)."""
        self._handed_over.extend(rows)
        self._claim_first = self._claim_first or claim_first
        self.wake()

    async def run(self) -> None:
        bind = self._session_factory.kw.get("bind")
        running = _running.setdefault(bind.sync_engine, {}) if bind is not None else {}
        running.setdefault(self._table.name, self)  # a second relay on the same outbox in one process only claims
        try:
            await super().run()
        finally:
            if running.get(self._table.name) is self:
                del running[self._table.name]
            with suppress(Exception):  # its lease runs out by itself
                await self.release_claimed()

    async def work(self) -> bool:
        if not self._publisher.started:
            await self._publisher.start()  # the broker may have been away at start
        published = await self.publish_pending()
        now = self._clock.now()
        # Checked only once the outbox is drained, so a re-publish in progress is never mistaken for a new loss.
        if not published and self._end_offsets is not None and self._marks is not None \
                and now - self._last_check >= timedelta(seconds=self._check_interval):
            self._last_check = now
            try:
                return bool(await self.check_broker())
            except Exception as exc:  # never let the check stand in the way of publishing
                log.warning("outbox.broker_check_failed", error=f"{type(exc).__name__}"[:200])
        return published > 0

    async def idle_seconds(self) -> float:
        return self._poll_interval

    async def publish_pending(self) -> int:
        """Publish one batch of pending events in order; return how many were published.

        Rows handed over on commit go out without a claim, unless a claim is due first (at start, after a
        failure, every ``poll_interval``), which takes the head of the outbox in id order, those rows included.
        Under load the transaction that marks a claimed batch published also claims the next one, so a busy
        relay spends one transaction per batch instead of two."""
        rows, self._next = self._next, []
        handed = False
        if not rows and (not self._fast() or self._claim_first
                         or self._clock.now() - self._last_claim >= timedelta(seconds=self._poll_interval)):
            rows = await self._claim()
            self._last_claim = self._clock.now()
        if rows:
            if self._handed_over:  # claimed with the rest: not to be sent again from memory
                claimed = {r.id for r in rows}
                self._handed_over = deque(r for r in self._handed_over if r.id not in claimed)
        elif self._handed_over and not self._claim_first:
            rows = [self._handed_over.popleft() for _ in range(min(self._batch_size, len(self._handed_over)))]
            handed = True
        if not rows:
            return 0
        ids = [r.id for r in rows]
        try:
            # Bounded well inside the lease, so no other relay takes these rows over while we still wait.
            results = await asyncio.wait_for(
                self._publisher.send_batch([(r.topic, r.key, r.payload.encode()) for r in rows]),
                timeout=self._lease.total_seconds() / 2)
        except BaseException:
            if handed:  # still ours, in order: the next claim takes them with anything older
                self._handed_over.extendleft(reversed(rows))
                self._claim_first = True
            else:
                await self._release(ids)
            raise
        async with self._session_factory.begin() as session:
            await session.execute(_statements(self._table).mark_published, {"ids": ids, "now": self._clock.now()})
            went_back = await self._record_marks(session, results or [])
            claimed_ahead = []
            if not went_back and not handed and len(rows) == self._batch_size:  # more is probably waiting
                claimed_ahead = await self._claim_in(session)
        self._next = claimed_ahead  # only once that claim committed
        self.published_total += len(rows)
        if went_back:
            await self._republish(went_back)
        return len(rows)

    async def release_claimed(self) -> None:
        """Give back a batch claimed ahead and the rows handed over (on stop), so another relay need not wait
        for their leases to end."""
        rows, self._next = [*self._next, *self._handed_over], []
        self._handed_over.clear()
        if rows:
            await self._release([r.id for r in rows])

    async def _claim(self) -> list[Any]:
        """Lease the first pending rows in one short transaction; none while another relay holds the head."""
        async with self._session_factory.begin() as session:
            if session.get_bind().dialect.name == "sqlite":
                # SQLite has no row locks: take its write lock first, so two relays on one file claim in turn.
                await session.execute(update(self._table).where(self._table.c.id == -1).values(published_at=None))
            return await self._claim_in(session)

    async def _claim_in(self, session: AsyncSession) -> list[Any]:
        table = self._table
        now = self._clock.now()
        known = len(self._handed_over)  # rows handed over before this read (more may arrive while it runs)
        rows = (await session.execute(
            select(table.c.id, table.c.topic, table.c.key, table.c.payload, table.c.claimed_until)
            .where(table.c.published_at.is_(None))
            .order_by(table.c.id)
            .limit(self._batch_size)
            .with_for_update()  # a second relay waits for this short claim, then sees the lease
        )).all()
        if known:
            self._forget_published(rows, known)
        # The head up to the first row another relay holds: its lease orders everything behind it.
        held = {r.id for r in self._handed_over}
        free = []
        for row in rows:
            if row.claimed_until is not None and row.claimed_until > now and row.id not in held:
                break
            free.append(row)
        # Rows handed over go out without a claim only once a claim found no other relay ahead of them.
        self._claim_first = len(free) < len(rows)
        if not free:
            return []
        await session.execute(update(table).where(table.c.id.in_([r.id for r in free]))
                              .values(claimed_until=now + self._lease))
        return free

    def _forget_published(self, pending: Sequence[Any], known: int) -> None:
        """Drop the first ``known`` rows handed over that ``pending`` (the head of the outbox, just read) shows
        published already: by another relay, after this one held them past their lease."""
        ids = {r.id for r in pending}
        last = pending[-1].id if len(pending) == self._batch_size else None  # beyond it, the read says nothing

        def still_pending(row: _Row) -> bool:
            return row.id in ids or (last is not None and row.id > last)

        earlier = [self._handed_over.popleft() for _ in range(known)]
        kept = [r for r in earlier if still_pending(r)]
        if len(kept) < known:
            log.info("outbox.handed_over_published_elsewhere", rows=known - len(kept))
        self._handed_over.extendleft(reversed(kept))

    async def _release(self, ids: list[int]) -> None:
        try:
            async with self._session_factory.begin() as session:
                await session.execute(update(self._table).where(self._table.c.id.in_(ids))
                                      .values(claimed_until=None))
        except Exception as exc:  # the lease runs out by itself
            log.warning("outbox.release_failed", error=type(exc).__name__)

    async def _record_marks(self, session: AsyncSession, results: Sequence[Any]) -> list[str]:
        """Move each topic-partition's mark to the first offset of this batch there; return the topics whose
        offsets went back to or below their mark (a partition's offsets only grow, unless the broker lost its
        log).

        The first offset of the batch, not the last: some Kafka-compatible brokers (Tansu) report the end
        offset as the last record batch's base offset + 1, so only that much is certain to be below it."""
        if self._marks is None:
            return []
        highest: dict[tuple[str, int], int] = {}
        for meta in results:
            if meta is not None:
                key = (meta.topic, meta.partition)
                highest[key] = min(highest.get(key, meta.offset), meta.offset)
        marks = self._marks
        if self._known_marks is None:  # read once; afterwards this relay knows what it wrote
            self._known_marks = {(r.topic, r.partition): r.offset for r in (await session.execute(
                select(marks.c.topic, marks.c.partition, marks.c.offset))).all()}
        known = self._known_marks
        went_back = {topic for (topic, partition), offset in highest.items()
                     if (topic, partition) in known and offset <= known[(topic, partition)]}
        if went_back:
            return sorted(went_back)
        now = self._clock.now()
        moved = [{"t": t, "p": p, "o": o, "u": now} for (t, p), o in highest.items() if (t, p) in known]
        new = [{"topic": t, "partition": p, "offset": o, "updated_at": now}
               for (t, p), o in highest.items() if (t, p) not in known]
        if moved:  # one executemany
            await session.execute(_move_marks(marks), moved)
        if new:  # another replica may have written the partition's first mark meanwhile: then keep its own
            dialect = session.get_bind().dialect.name
            if dialect == "sqlite":
                await session.execute(sqlite_insert(marks).on_conflict_do_nothing(), new)
            elif dialect == "postgresql":
                await session.execute(postgresql_insert(marks).on_conflict_do_nothing(), new)
            else:
                await session.execute(insert(marks), new)
        known.update(highest)
        return []

    async def check_broker(self) -> list[str]:
        """Re-publish the retained rows of every topic the broker has fewer events in than we published there.

        Returns the topics found behind."""
        assert self._marks is not None and self._end_offsets is not None
        marks = self._marks
        async with self._session_factory() as session:  # the marks first: they only grow while all is well
            recorded = {(r.topic, r.partition): r.offset
                        for r in (await session.execute(select(marks.c.topic, marks.c.partition,
                                                               marks.c.offset))).all()}
        if not recorded:
            return []
        ends = await self._end_offsets(sorted({topic for topic, _ in recorded}))
        present = {topic for topic, _ in ends}

        def end(topic: str, partition: int) -> int | None:  # None: the broker did not say, conclude nothing
            return ends.get((topic, partition), 0 if topic not in present else None)

        lost = {f"{topic}/{partition}": f"{end(topic, partition)}<={offset}"
                for (topic, partition), offset in sorted(recorded.items())
                if (found := end(topic, partition)) is not None and found <= offset}
        behind = sorted({name.rsplit("/", 1)[0] for name in lost})
        if behind:
            await self._republish(behind, detail=lost)
        return behind

    async def _republish(self, behind: list[str], *, detail: dict[str, str] | None = None) -> None:
        """The broker lost events of ``behind``: publish every retained row of those topics again, in order."""
        assert self._marks is not None
        marks = self._marks
        if self._on_broker_behind is not None:
            await self._on_broker_behind(behind)  # e.g. create the topics again
        table = self._table
        async with self._session_factory.begin() as session:
            result = await session.execute(update(table).where(table.c.topic.in_(behind),
                                                               table.c.published_at.is_not(None))
                                           .values(published_at=None, claimed_until=None))
            await session.execute(delete(marks).where(marks.c.topic.in_(behind)))
        self._known_marks = None
        self._next = []  # those rows are pending again and claimed afresh, in order
        self._claim_first = True  # and before any row handed over since
        log.warning("outbox.broker_behind", topics=behind, republishing=result.rowcount,  # type: ignore[attr-defined]
                    end_offsets_vs_marks=detail or "offsets went back on publishing")
        self.wake()


def service_relay(settings: ServiceSettings, *, session_factory: async_sessionmaker[AsyncSession], table: Table,
                  marks_table: Table, publisher: EventPublisher, clock: Clock | None = None) -> OutboxRelay:
    """A service's relay against its Kafka: it checks the broker every OUTBOX_BROKER_CHECK_SECONDS and
    creates lost topics again before re-publishing into them."""
    from shared.broker_offsets import end_offsets
    from shared.kafka import ensure_topics

    async def read_end_offsets(topics: Sequence[str]) -> dict[tuple[str, int], int]:
        return await end_offsets(settings, topics)

    async def recreate_topics(topics: Sequence[str]) -> None:
        await ensure_topics(settings, topics)

    return OutboxRelay(session_factory=session_factory, table=table, publisher=publisher,
                       poll_interval=settings.outbox_poll_interval, marks_table=marks_table,
                       lease_seconds=settings.outbox_lease_seconds,
                       end_offsets=read_end_offsets, broker_check_interval=settings.outbox_broker_check_seconds,
                       on_broker_behind=recreate_topics, clock=clock)
