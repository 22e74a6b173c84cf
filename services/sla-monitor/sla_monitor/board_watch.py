"""While somebody watches the live board, re-read it every few seconds and tell the feed when it changed, so
changes made by another replica (its consumer, its ticker) show up too, not only this process's own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.workers import Worker
from sla_monitor.board_store import board_fingerprint
from sla_monitor.live import LiveFeed


class BoardWatch(Worker):
    name = "sla.board_watch"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], clock: Clock, feed: LiveFeed,
                 interval: float, breached_within: timedelta) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._clock = clock
        self._feed = feed
        self._interval = interval
        self._breached_within = breached_within
        self._last: str | None = None

    async def work(self) -> bool:
        if self._feed.board_watchers == 0:
            self._last = None
            return False
        async with self._session_factory() as session:
            fingerprint = await board_fingerprint(session, now=self._clock.now(),
                                                  breached_within=self._breached_within)
        if self._last is not None and fingerprint != self._last:
            self._feed.board_changed()
        self._last = fingerprint
        return False

    async def idle_seconds(self) -> float:
        return self._interval
