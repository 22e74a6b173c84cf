"""The whole stack for the load benchmark, as ``make run`` starts it: the embedded broker, each service's
migrations, then intake, router and sla-monitor as separate processes, each logging to its own file.

SQLite files go in a temporary folder; with ``database="postgres"`` a fresh PostgreSQL database is created for
the stack (``bench_<timestamp>_<label>`` on 127.0.0.1:5432, user ``postgres``) and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devstack.broker import free_port, start_broker
from devstack.stack import ROOT, SERVICES, child_env, die_with_parent, start_service, stop_all

PG_SERVER = "127.0.0.1:5432"
PG_ADMIN_DSN = f"postgresql://postgres@{PG_SERVER}/test"
ADMIN_TOKEN = "bench-admin"
API_KEY = "bench-key"
START_TIMEOUT = 90.0


class StackFailed(RuntimeError):
    """A piece of the stack did not start; the message names it and quotes the end of its log."""


@dataclass
class Stack:
    kafka: str
    urls: dict[str, str]
    database_urls: dict[str, str]
    logs: dict[str, Path]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_problems(self, limit: int = 5) -> dict[str, dict[str, object]]:
        """Per service: how many lines it logged (at WARNING and above) and the first few, shortened."""
        report: dict[str, dict[str, object]] = {}
        for name, path in self.logs.items():
            lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
            alive = self.processes[name].poll() is None if name in self.processes else None
            report[name] = {"lines": len(lines), "first": [line[:240] for line in lines[:limit]],
                            "alive_at_end": alive}
        return report


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _pg(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _create_database(label: str) -> str:
    name = f"bench_{datetime.now(UTC):%Y%m%d_%H%M%S}_{label}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:  # noqa: BLE001 - any failure here means: no PostgreSQL to use
        raise StackFailed(f"Could not create the PostgreSQL database {name} at {PG_SERVER} ({exc}); "
                          "DATABASE=postgres needs a server there that trusts user postgres.") from exc
    return name


def _drop_database(name: str) -> None:
    with suppress(Exception):
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _wait_ready(stack: Stack, deadline: float) -> None:
    """Every service answers ``/readyz`` 200 (router and sla-monitor: database and broker, consumers joined)."""
    pending = dict(stack.urls)
    with httpx.Client(timeout=2) as http:
        while pending:
            for name in list(pending):
                process = stack.processes[name]
                if process.poll() is not None:
                    raise StackFailed(f"{name} exited with code {process.returncode} while starting; "
                                      f"the end of its log:\n{_tail(stack.logs[name])}")
                with suppress(httpx.HTTPError):
                    if http.get(pending[name] + "/readyz").status_code == 200:
                        del pending[name]
            if pending and time.monotonic() > deadline:
                raise StackFailed(f"{', '.join(pending)} not ready after {START_TIMEOUT:.0f}s; the end of "
                                  f"{next(iter(pending))}'s log:\n{_tail(stack.logs[next(iter(pending))])}")
            time.sleep(0.2)


@contextmanager
def running_stack(*, tmp: Path, label: str, database: str, routing: str, policies: str,
                  extra_env: dict[str, str] | None = None,
                  before_start: Callable[[Stack], None] | None = None) -> Iterator[Stack]:
    """Start everything, wait until every service is ready, yield; stop everything (and drop the database).
    ``before_start`` runs after the migrations, before any service starts (to store a history, say)."""
    folder = tmp / label
    folder.mkdir(parents=True)
    (folder / "routing.yaml").write_text(routing)
    (folder / "sla-policies.yaml").write_text(policies)
    broker_port = free_port()
    broker = start_broker(broker_port, preexec_fn=die_with_parent)  # gone with us, even after a kill -9
    pg_name = None
    stack = Stack(kafka=f"127.0.0.1:{broker_port}", urls={}, database_urls={}, logs={})
    try:
        if database == "postgres":
            pg_name = _create_database(label)
        env = child_env({
            "KAFKA_BOOTSTRAP_SERVERS": stack.kafka, "INTAKE_API_KEYS": f"bench:{API_KEY}",
            "CRM_WEBHOOK_SECRET": "bench-secret", "ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "WARNING",
            "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true", "ROUTING_CONFIG_PATH": str(folder / "routing.yaml"),
            "SLA_POLICIES_PATH": str(folder / "sla-policies.yaml"), **(extra_env or {})})
        for name, service in SERVICES.items():
            url = (f"postgresql+asyncpg://postgres@{PG_SERVER}/{pg_name}" if pg_name
                   else f"sqlite+aiosqlite:///{folder / (name + '.db')}")
            env[service.database_env] = stack.database_urls[name] = url
            env[service.port_env] = str(free_port())
            stack.urls[name] = f"http://127.0.0.1:{env[service.port_env]}"
            stack.logs[name] = folder / f"{name}.log"
        for name, service in SERVICES.items():
            migration = subprocess.run([sys.executable, "-m", service.module, "migrate"], env=env, cwd=ROOT,
                                       capture_output=True, timeout=120)
            if migration.returncode != 0:
                raise StackFailed(f"{name}'s migrations failed (exit {migration.returncode}):\n"
                                  f"{migration.stderr.decode(errors='replace')[-2000:]}")
        if before_start is not None:
            before_start(stack)
        for name, service in SERVICES.items():
            with stack.logs[name].open("wb") as log:
                stack.processes[name] = start_service(service, env, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(stack, time.monotonic() + START_TIMEOUT)
        yield stack
    finally:
        stop_all(list(stack.processes.values()))
        stop_all([broker])
        if pg_name:
            _drop_database(pg_name)

