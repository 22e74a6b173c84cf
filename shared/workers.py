"""Background workers (outbox relay, SLA ticker, webhook delivery): work until nothing is left, then sleep
until woken or until the next thing is due; back off on errors; stop cleanly."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from contextlib import suppress
from typing import Protocol

from shared.logging import describe_error, get_logger

log = get_logger(__name__)


class Runnable(Protocol):
    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class Worker(ABC):
    name = "worker"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Something changed: look for work now instead of at the next timeout."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @abstractmethod
    async def work(self) -> bool:
        """Do one round of work; return True when more is waiting right now."""

    async def idle_seconds(self) -> float:
        """How long to sleep when there is no work (unless woken earlier)."""
        return 1.0

    async def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()  # a wake() during work() then cuts the following sleep short
            try:
                if await self.work():
                    failures = 0
                    continue
                failures = 0
                delay = await self.idle_seconds()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(10.0, 0.25 * 2 ** failures)
                log.warning(f"{self.name}.failed", error=describe_error(exc)[:300], retry_in=delay)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)


def start_all(workers: list[Runnable]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(worker.run()) for worker in workers]


async def stop_all(workers: list[Runnable], tasks: list[asyncio.Task[None]], *, timeout: float = 10.0) -> None:
    """Ask every worker to stop, then wait for each (cancelling one that takes longer than ``timeout``)."""
    for worker in workers:
        await worker.stop()
    for task in tasks:
        with suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout=timeout)
