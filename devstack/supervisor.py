"""`make run`'s supervisor: keeps every piece running, restarting one that dies with backoff.

Each piece (the embedded broker, each service) is a ``Unit``. A service unit applies its migrations and then
serves; when either step fails the unit waits (``backoff_delay``) and tries again while the others keep
serving. The one line a service prints when it cannot start (``<service>: cannot start: <reason>``) is shown
with the delay before the next try. After the embedded broker is restarted the topics are created again;
the services' outboxes then re-publish what they still retain.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from rich.console import Console
from rich.markup import escape

from shared.backoff import backoff_delay
from shared.startup import CANNOT_START

#: A unit that served this long counts as healthy again: its next failure waits the shortest delay.
STABLE_SECONDS = 30.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0

Start = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Unit:
    """One supervised piece: ``prepare`` (e.g. migrations) runs to completion before each ``start``."""

    name: str
    start: Start
    port: int
    prepare: Start | None = None
    after_restart: Callable[[], None] | None = None
    process: subprocess.Popen[bytes] | None = None
    state: str = "waiting"  # waiting | preparing | running
    attempt: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    ready: bool = False
    ever_ready: bool = False
    reasons: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _forward_stderr(stream: IO[bytes], unit: Unit) -> None:
    """Copy a child's stderr to ours, keeping its 'cannot start' line to show with the restart delay."""
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        if f": {CANNOT_START} " in line:
            unit.reasons.append(line)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    stream.close()


def _launch(unit: Unit, start: Start) -> subprocess.Popen[bytes]:
    process = start()
    unit.reader = None
    if process.stderr is not None:
        unit.reader = threading.Thread(target=_forward_stderr, args=(process.stderr, unit), daemon=True)
        unit.reader.start()
    return process


class Supervisor:
    def __init__(self, units: list[Unit], console: Console, *, on_ready: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.units = units
        self._console = console
        self._on_ready = on_ready
        self._clock = clock
        self._announced = False
        self.stopping = False

    def step(self) -> None:
        """Advance every unit once: start what is due, notice what died or became ready."""
        now = self._clock()
        for unit in self.units:
            if unit.state == "waiting" and now >= unit.next_start:
                if unit.prepare is not None:
                    unit.process, unit.state = _launch(unit, unit.prepare), "preparing"
                else:
                    self._start(unit, now)
            elif unit.state == "preparing" and unit.process is not None and unit.process.poll() is not None:
                if unit.process.returncode == 0:
                    self._start(unit, now)
                else:
                    self._failed(unit, now, f"its migrations exited with code {unit.process.returncode}")
            elif unit.state == "running" and unit.process is not None:
                if unit.process.poll() is not None:
                    self._failed(unit, now, f"exited with code {unit.process.returncode}")
                    continue
                if not unit.ready and listening(unit.port):
                    self._became_ready(unit)
                if unit.attempt and now - unit.started_at > STABLE_SECONDS:
                    unit.attempt = 0
        if not self._announced and all(u.ready for u in self.units):
            self._announced = True
            if self._on_ready:
                self._on_ready()

    def _start(self, unit: Unit, now: float) -> None:
        unit.process, unit.state, unit.started_at, unit.ready = _launch(unit, unit.start), "running", now, False

    def _became_ready(self, unit: Unit) -> None:
        unit.ready = True
        if unit.ever_ready:
            self._console.print(f"[green]{unit.name} is back on :{unit.port}.[/]")
            if unit.after_restart is not None:
                try:
                    unit.after_restart()
                except Exception as exc:  # noqa: BLE001 - told, and the services retry on their own
                    self._console.print(f"[red]{unit.name}: after the restart: {escape(str(exc))}[/]")
        unit.ever_ready = True

    def _failed(self, unit: Unit, now: float, what: str) -> None:
        if unit.reader is not None:
            unit.reader.join(timeout=2)  # the child's last line ("cannot start: …") is read by now
        unit.attempt += 1
        delay = backoff_delay(unit.attempt, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)
        unit.state, unit.next_start, unit.ready, unit.process = "waiting", now + delay, False, None
        reason = unit.reasons[-1] if unit.reasons else f"{unit.name} {what}"
        unit.reasons.clear()
        self._console.print(f"[red]{escape(reason)}[/] [yellow](restarting in {delay:.1f}s)[/]")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the services first and the broker last (they can flush and leave their groups), then
        SIGKILL what is still running."""
        self.stopping = True
        for group in (self.units[1:], self.units[:1]) if self.units[0].name == "broker" else (self.units,):
            running = [u.process for u in group if u.process is not None and u.process.poll() is None]
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
