"""Background workers (outbox relay, SLA ticker, webhook delivery): work until nothing is left, then sleep
until woken or until the next thing is due; back off on errors; stop cleanly."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from contextlib import suppress
from typing import Protocol

from shared.backoff import backoff_delay
from shared.failures import Failure, classify, describe
from shared.logging import get_logger

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
                delay = backoff_delay(failures, base=0.25, cap=10.0)
                log.warning(f"{self.name}.failed", error=describe(exc, limit=300), retry_in=delay)
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


class Supervisor:
    """Runs named loops (consumers, workers) and restarts one that crashes, with backoff.

    A loop that crashes ``max_crashes`` times in a row (without staying up ``stable_after`` seconds in
    between) is declared dead and left so: liveness then fails, and the orchestrator restarts the process.
    A crash because the database or broker is away (``shared.failures``) is restarted without limit:
    restarting the process would not bring them back, and readiness already says what is wrong.
    """

    def __init__(self, loops: dict[str, Runnable], *, max_crashes: int = 10, stable_after: float = 60.0,
                 backoff: tuple[float, float] = (0.5, 30.0), optional: frozenset[str] = frozenset()) -> None:
        self.loops = dict(loops)
        #: Loops the service can serve without (readiness reports them ``degraded``, not failing).
        self._optional = optional
        self._max_crashes = max_crashes
        self._stable_after = stable_after
        self._backoff = backoff
        self._stopping = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.states: dict[str, str] = dict.fromkeys(self.loops, "not started")

    def start(self) -> None:
        self._stopping.clear()
        for name, loop in self.loops.items():
            self._tasks[name] = asyncio.create_task(self._supervise(name, loop), name=f"supervised:{name}")

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Ask every loop to stop, then wait for each (cancelling one that takes longer than ``timeout``)."""
        self._stopping.set()
        for loop in self.loops.values():
            with suppress(Exception):
                await loop.stop()
        for task in self._tasks.values():
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=timeout)
        self._tasks.clear()

    def dead(self) -> dict[str, str]:
        """The loops that died and are not being restarted, with why."""
        return {name: state for name, state in self.states.items() if state.startswith("dead")}

    def readiness(self) -> dict[str, str]:
        """Per loop: ``ok``, or what is wrong (a loop may report its own ``status``, e.g. a held partition)."""
        out = {}
        for name, loop in self.loops.items():
            state = self.states[name]
            if state == "running":
                state = str(getattr(loop, "status", "ok"))
            if name in self._optional and state != "ok":
                state = f"degraded: {state}"
            out[name] = state
        return out

    async def _supervise(self, name: str, loop: Runnable) -> None:
        clock = asyncio.get_running_loop()
        crashes = restarts = 0
        while not self._stopping.is_set():
            started = clock.time()
            self.states[name] = "running"
            try:
                await loop.run()
                error = "it returned without being asked to stop"
            except asyncio.CancelledError:
                if not self._stopping.is_set():
                    self.states[name] = "dead (cancelled)"
                raise
            except Exception as exc:
                error = type(exc).__name__
                transient = classify(exc) is Failure.TRANSIENT
            else:
                transient = False
            if self._stopping.is_set():
                break
            stable = clock.time() - started > self._stable_after
            restarts = 1 if stable else restarts + 1
            if not transient:
                crashes = 1 if stable else crashes + 1
            if crashes >= self._max_crashes:
                self.states[name] = f"dead ({error})"
                log.error("supervisor.loop_dead", loop=name, crashes=crashes, error=error)
                return
            delay = backoff_delay(restarts, base=self._backoff[0], cap=self._backoff[1])
            self.states[name] = f"restarting ({error})"
            log.error("supervisor.loop_crashed", loop=name, crashes=crashes, error=error, restart_in=round(delay, 2))
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        self.states[name] = "stopped"
