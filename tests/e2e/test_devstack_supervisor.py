"""`make run` keeps the stack up: a killed service or broker is restarted while the others keep serving, the
topics come back after a broker restart, and a service that cannot start is named with its reason."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack.broker import free_port
from devstack.stack import ROOT, SERVICES, child_env
from shared.topics import ALL_TOPICS
from tests.e2e.test_devstack import _processes_with_marker

pytestmark = pytest.mark.e2e

API_KEY = {"X-API-Key": "dev-key"}
ADMIN = {"Authorization": "Bearer dev-admin"}


@dataclass
class Supervised:
    process: subprocess.Popen[str]
    env: dict[str, str]
    marker: str
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.env[SERVICES[service].port_env]}{path}"

    def pid_of(self, fragment: str) -> int:
        """The pid of this run's process whose command line contains ``fragment``."""
        for pid in _processes_with_marker(self.marker):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline and "-m devstack" not in cmdline:
                return pid
        raise AssertionError(f"no process of this run matches {fragment!r}")

    def said(self, text: str) -> bool:
        return any(text in line for line in self.output)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    started: list[Supervised] = []

    def start(**overrides: str) -> Supervised:
        marker = uuid.uuid4().hex
        env = child_env({"LEADROUTER_TEST_RUN": marker, "KAFKA_SESSION_TIMEOUT_MS": "2000", "LOG_LEVEL": "WARNING",
                         "EMBEDDED_BROKER_PORT": str(free_port())})
        for name in ("INTAKE_API_KEYS", "CRM_WEBHOOK_SECRET", "ADMIN_TOKEN", "KAFKA_BOOTSTRAP_SERVERS"):
            env.pop(name, None)
        for service in SERVICES.values():
            env[service.port_env] = str(free_port())
            env[service.database_env] = f"sqlite+aiosqlite:///{tmp_path / (service.name + '.db')}"
        env.update(overrides)
        process = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        run = Supervised(process, env, f"LEADROUTER_TEST_RUN={marker}")
        assert process.stdout is not None
        run.reader = threading.Thread(target=lambda: run.output.extend(iter(process.stdout.readline, "")),  # type: ignore[union-attr]
                                      daemon=True)
        run.reader.start()
        started.append(run)
        return run

    yield start
    for run in started:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            try:
                run.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.process.kill()
        if run.reader is not None:
            run.reader.join(timeout=10)
        if run.process.stdout is not None:
            run.process.stdout.close()
        assert _processes_with_marker(run.marker) == [], "make run left processes behind"


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_a_killed_service_and_a_killed_broker_are_restarted_and_the_rest_keep_serving(
        make_run: Callable[..., Supervised]) -> None:
    run = make_run()
    _wait(lambda: run.said("Ready."), "make run to be ready", timeout=90)

    router = run.pid_of("-m lead_router")
    intake_before = run.pid_of("-m intake")
    os.kill(router, signal.SIGKILL)
    _wait(lambda: run.said("router exited with code -9"), "the supervisor to notice the router died")
    _wait(lambda: _healthy(run.url("router", "/healthz")), "the router to be restarted")
    assert run.pid_of("-m lead_router") != router
    assert run.pid_of("-m intake") == intake_before and _healthy(run.url("intake", "/healthz"))
    assert run.process.poll() is None

    bootstrap = f"127.0.0.1:{run.env['EMBEDDED_BROKER_PORT']}"
    os.kill(run.pid_of("--listener-url"), signal.SIGKILL)
    _wait(lambda: run.said("broker exited with code -9"), "the supervisor to notice the broker died")
    _wait(lambda: run.said("Topics created again"), "the topics to be created on the restarted broker")
    assert set(ALL_TOPICS) <= asyncio.run(_topics(bootstrap))
    for service in SERVICES:
        assert _healthy(run.url(service, "/healthz")), f"{service} stopped serving"

    answer = httpx.post(run.url("intake", "/v1/leads"), headers=API_KEY, timeout=10, json={
        "email": "after.restart@example.com", "company": "Fintastic", "country": "US", "industry": "fintech",
        "employees": 1200, "source": "web_form", "intent": "demo_request"})
    assert answer.status_code == 202, answer.text
    lead_id = answer.json()["lead_id"]

    def assigned() -> bool:
        found = httpx.get(run.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN, timeout=5)
        return found.status_code == 200 and bool(found.json().get("current"))

    _wait(assigned, "a lead posted after the broker restart to be assigned", timeout=60)

    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=60) == 0
    assert run.said("Stopped.")


def test_make_run_names_the_service_that_cannot_start_and_keeps_the_others_up(
        make_run: Callable[..., Supervised]) -> None:
    port = free_port()
    run = make_run(ROUTER_DATABASE_URL=f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{port}/leadrouter")
    expected = f"router: cannot start: database migrations failed: the database at 127.0.0.1:{port} is unreachable"
    _wait(lambda: run.said(expected), "the router's one-line reason", timeout=90)
    _wait(lambda: _healthy(run.url("intake", "/healthz")) and _healthy(run.url("sla-monitor", "/healthz")),
          "intake and sla-monitor to serve anyway")
    line = next(line for line in run.output if expected in line)
    assert "restarting in" in line
    assert not run.said("Traceback") and not run.said("hunter2")
    assert run.process.poll() is None
