"""The ticker fires due clocks: warnings, breaches, escalations and follow-up checks.

It finds due work through the ``(partition, next_action_at)`` index, never by scanning all clocks, and only for
the partitions this instance owns in the consumer group, so two instances split the clocks and a survivor
takes over a dead instance's clocks after the rebalance. A clock that cannot be processed is quarantined and the
rest of the batch fires; a batch that meets a clock changed since it was read (``StaleClock``) is redone. It
sleeps until the earliest due time (at most ``max_sleep``) and is woken early when a clock changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.logging import get_logger
from shared.workers import Worker
from sla_monitor import tables
from sla_monitor.alerts import collect
from sla_monitor.clock_store import Quarantined, StaleClock, advance, save_clocks
from sla_monitor.domain.clock import Breached, Met, Recycled, ResponseClock, Warned, tick
from sla_monitor.metrics import ALERT_LATENESS, ALERTS

log = get_logger(__name__)

_KIND = {Warned: "warning", Breached: "breached", Met: "met", Recycled: "recycled"}


class Ticker(Worker):
    name = "sla.ticker"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], clock: Clock,
                 partitions: Callable[[], frozenset[int]], after_fire: Callable[[], None],
                 max_sleep: float = 0.25, batch_size: int = 500) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._clock = clock
        self._partitions = partitions
        self._after_fire = after_fire
        self._max_sleep = max_sleep
        self._batch_size = batch_size

    async def work(self) -> bool:
        return await self.fire_due() >= self._batch_size  # a full batch: more is due right now

    async def fire_due(self) -> int:
        """Fire every due clock of the owned partitions (one batch); returns how many clocks acted."""
        partitions = self._partitions()
        if not partitions:
            return 0
        try:
            fired = await self._fire_batch(partitions)
        except StaleClock:
            log.info("sla.ticker_batch_redone", reason="a clock changed while the batch was being fired")
            return self._batch_size  # come back at once and read the batch afresh
        if fired:
            self._after_fire()
        return fired

    async def _fire_batch(self, partitions: frozenset[int]) -> int:
        now = self._clock.now()
        c = tables.clocks
        async with self._session_factory.begin() as session:
            rows = (await session.execute(
                select(c).where(c.c.partition.in_(partitions), c.c.next_action_at <= now)
                .order_by(c.c.next_action_at).limit(self._batch_size)
                .with_for_update(skip_locked=True))).all()
            alerts = await collect(session, now=now)
            changes: list[tuple[Any, ResponseClock | Quarantined, str | None]] = []
            fired: list[tuple[str, float | None]] = []
            for row in rows:
                clock, happened = advance(row, lambda clock, policy: tick(clock, policy, now=now))
                notes = []
                for happening in happened:
                    kind = _KIND[type(happening)]
                    notes.append(f"{kind}" + (f" level {happening.level}" if isinstance(happening, Breached) else ""))
                    lateness = (now - row.next_action_at).total_seconds()
                    fired.append((kind, lateness if isinstance(happening, Breached | Warned) else None))
                changes.append((row, clock, ", ".join(notes) or None))
                alerts.add(row, happened)
            await save_clocks(session, changes, now=now)
            await alerts.write(session)
        for kind, lateness in fired:  # counted once the batch is stored, so a redone batch is not counted twice
            ALERTS.labels(kind=kind).inc()
            if lateness is not None:
                ALERT_LATENESS.observe(lateness)
        return len(rows)

    async def idle_seconds(self) -> float:
        """Until the earliest next action of an owned clock, at most ``max_sleep``."""
        partitions = self._partitions()
        if not partitions:
            return self._max_sleep
        c = tables.clocks
        async with self._session_factory() as session:
            next_at = (await session.execute(select(func.min(c.c.next_action_at))
                                             .where(c.c.partition.in_(partitions)))).scalar()
        if next_at is None:
            return self._max_sleep
        wait = (next_at - self._clock.now()) / timedelta(seconds=1)
        return min(self._max_sleep, max(0.0, wait))
