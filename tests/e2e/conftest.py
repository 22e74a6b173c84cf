"""The whole system as processes: the embedded broker and the three services, each on a free port."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port, start_broker
from devstack.stack import SERVICES, child_env, migrate, start_service, stop_all
from tests.conftest import DatabaseFactory

CREDENTIALS = {"INTAKE_API_KEYS": "e2e:e2e-key", "CRM_WEBHOOK_SECRET": "e2e-secret", "ADMIN_TOKEN": "e2e-admin"}
HOT_IN_TWO_SECONDS = """policies:
  hot:  {first_response: 2s}
  warm: {first_response: 24h, warn_before: 2h}
  cold: {first_response: 72h}
"""


@dataclass
class Stack:
    urls: dict[str, str]
    logs: Path
    bootstrap: str = ""

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with suppress(httpx.HTTPError):  # not listening yet
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy:\n{log.read_text()[-3000:]}")


@contextmanager
def running_stack(tmp_path: Path, database_urls: dict[str, str],
                  extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Broker + intake + router + sla-monitor as processes, each service on ``database_urls[name]``;
    ``extra_env`` adds variables (an integration's secret, say)."""
    broker_port = free_port()
    broker = start_broker(broker_port)
    policies = tmp_path / "sla-policies.yaml"
    policies.write_text(HOT_IN_TWO_SECONDS)
    env = child_env({
        **CREDENTIALS,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
        "KAFKA_SESSION_TIMEOUT_MS": "2000",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "SLA_POLICIES_PATH": str(policies),
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    })
    for service in SERVICES.values():
        env[service.database_env] = database_urls[service.name]
    processes: list[subprocess.Popen[bytes]] = []
    urls = {}
    try:
        for service in SERVICES.values():
            port = free_port()
            env[service.port_env] = str(port)
            urls[service.name] = f"http://127.0.0.1:{port}"
            migrate(service, env)
        # The sla-monitor's ops console calls the router's and intake's APIs.
        for variable, service_name in (("ROUTER_URL", "router"), ("INTAKE_URL", "intake")):
            if variable not in (extra_env or {}):
                env[variable] = urls[service_name]
        for service in SERVICES.values():
            log = tmp_path / f"{service.name}.log"
            with open(log, "wb") as out:
                process = start_service(service, env, stdout=out, stderr=subprocess.STDOUT)
            processes.append(process)
            _wait_healthy(urls[service.name], process, log)
        yield Stack(urls=urls, logs=tmp_path, bootstrap=f"127.0.0.1:{broker_port}")
    finally:
        stop_all(processes)
        stop_all([broker])
        if os.environ.get("E2E_SHOW_LOGS"):
            for log in sorted(tmp_path.glob("*.log")):
                print(f"==== {log.name}\n{log.read_text()[-5000:]}")  # noqa: T201


@pytest.fixture
def stack(tmp_path: Path, databases: DatabaseFactory) -> Iterator[Stack]:
    """Broker + intake + router + sla-monitor as processes, on SQLite and on PostgreSQL."""
    with running_stack(tmp_path, {s.name: databases.new(s.name) for s in SERVICES.values()}) as started:
        yield started
