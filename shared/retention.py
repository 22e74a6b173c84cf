"""Retention: rows that have served their purpose are deleted in small batches, each its own transaction.

Each service lists its rules (which table, which timestamp, how old, which rows are exempt); one
``RetentionWorker`` applies them every ``RETENTION_INTERVAL_SECONDS``. Short batches keep locks short, so
purging a large backlog never stalls the requests and consumers writing to the same tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Column, ColumnElement, Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock, SystemClock
from shared.logging import get_logger
from shared.settings import ServiceSettings
from shared.workers import Worker

log = get_logger(__name__)


@dataclass(frozen=True)
class RetentionRule:
    """Delete rows of ``table`` whose ``column`` is older than ``max_age`` (and that ``keep_if`` does not keep)."""

    name: str
    table: Table
    column: Column[datetime]
    max_age: timedelta
    #: Rows matching this condition are never deleted, however old (e.g. a touch of a still-running clock).
    keep_if: Callable[[], ColumnElement[bool]] | None = field(default=None)

    def expired(self, now: datetime) -> ColumnElement[bool]:
        condition = self.column < now - self.max_age
        if self.keep_if is not None:
            condition = condition & ~self.keep_if()
        return condition


async def purge(session_factory: async_sessionmaker[AsyncSession], rules: list[RetentionRule], *,
                now: datetime, batch_size: int = 1000) -> dict[str, int]:
    """Apply every rule until nothing it covers is left; return how many rows each deleted."""
    deleted: dict[str, int] = {}
    for rule in rules:
        keys = list(rule.table.primary_key.columns)
        key = keys[0] if len(keys) == 1 else tuple_(*keys)
        total = 0
        while True:
            batch = select(*keys).where(rule.expired(now)).limit(batch_size)
            async with session_factory.begin() as session:
                result = await session.execute(delete(rule.table).where(key.in_(batch)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            total += count
            if count < batch_size:
                break
            await asyncio.sleep(0)  # let other work in between batches
        deleted[rule.name] = total
    return deleted


class RetentionWorker(Worker):
    """Run ``purge`` with the service's rules every ``interval`` seconds."""

    name = "retention"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], rules: list[RetentionRule],
                 interval: float = 3600.0, batch_size: int = 1000, clock: Clock | None = None) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._rules = rules
        self._interval = interval
        self._batch_size = batch_size
        self._clock = clock or SystemClock()

    async def work(self) -> bool:
        deleted = await purge(self._session_factory, self._rules, now=self._clock.now(),
                              batch_size=self._batch_size)
        if any(deleted.values()):
            log.info("retention.purged", **{name: n for name, n in deleted.items() if n})
        return False

    async def idle_seconds(self) -> float:
        return self._interval


def outbox_and_inbox_rules(settings: ServiceSettings, *, outbox: Table,
                           processed_events: Table | None = None) -> list[RetentionRule]:
    """The rules every service shares: published outbox rows, and the ids of events already consumed."""
    rules = [RetentionRule("outbox", outbox, outbox.c.published_at, timedelta(days=settings.outbox_retention_days))]
    if processed_events is not None:
        rules.append(RetentionRule("processed_events", processed_events, processed_events.c.processed_at,
                                   timedelta(days=settings.processed_events_retention_days)))
    return rules


def service_retention(settings: ServiceSettings, *, session_factory: async_sessionmaker[AsyncSession],
                      rules: list[RetentionRule], clock: Clock | None = None) -> RetentionWorker:
    return RetentionWorker(session_factory=session_factory, rules=rules, interval=settings.retention_interval_seconds,
                           batch_size=settings.retention_batch_size, clock=clock)
