"""The in-process change feed behind the live board and ``GET /v1/events/stream``.

Two things flow through it: "the board changed" (a version number that grows; clock handlers and the ticker
bump it after their transaction commits, and :class:`BoardWatch` after it sees a change another replica made),
and events (what the sla-monitor consumes and publishes, from :mod:`sla_monitor.event_tail`), each given to
every subscriber's queue. A subscriber too slow to keep up loses events, and is told so, rather than holding
anyone else up or growing without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

#: Event types after which the board shows something new (a clock's state changed somewhere).
BOARD_EVENT_PREFIXES = ("sla.", "lead.assigned", "lead.recycled")


class Subscription:
    """One reader of the events: a bounded queue, and whether events were dropped because it was full."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1


class LiveFeed:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self.board_version = 0
        self._board_changed = asyncio.Event()
        self.board_watchers = 0
        self._subscriptions: set[Subscription] = set()
        self._queue_size = queue_size
        #: Called when the first event subscriber arrives (starts the event tail).
        self.on_first_subscriber: Callable[[], None] | None = None
        #: Set while the event tail reads from the current end of the topics (what is published now is seen).
        self.tail_ready = asyncio.Event()

    # ---- the board ----------------------------------------------------------------------------------------

    def board_changed(self) -> None:
        """Something on the board changed (call after the transaction that changed it committed)."""
        self.board_version += 1
        changed, self._board_changed = self._board_changed, asyncio.Event()
        changed.set()

    async def wait_board(self, seen: int, *, timeout: float) -> int:
        """The board version once it differs from ``seen``, or after ``timeout`` seconds, whichever is first."""
        if self.board_version == seen:
            try:
                await asyncio.wait_for(self._board_changed.wait(), timeout=timeout)
            except TimeoutError:
                pass  # nothing changed: the caller sends a keepalive and waits again
        return self.board_version

    @contextmanager
    def watching_board(self) -> Iterator[None]:
        """Count a board being watched (the DB re-check runs only while somebody watches)."""
        self.board_watchers += 1
        try:
            yield
        finally:
            self.board_watchers -= 1

    # ---- events -------------------------------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, event: dict[str, Any]) -> None:
        """Give ``event`` (as :func:`sla_monitor.event_tail.event_view` shows it) to every subscriber."""
        for subscription in self._subscriptions:
            subscription.offer(event)
        if str(event.get("type", "")).startswith(BOARD_EVENT_PREFIXES):
            self.board_changed()

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription(self._queue_size)
        self._subscriptions.add(subscription)
        if len(self._subscriptions) == 1 and self.on_first_subscriber is not None:
            self.on_first_subscriber()
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
