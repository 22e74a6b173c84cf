"""`make run`'s supervisor: starts every service, prints the dev credentials, and leaves no process behind
on Ctrl-C; a service started without credentials refuses to start and says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port
from devstack.stack import ROOT, SERVICES, Service, child_env

pytestmark = pytest.mark.e2e


def _processes_with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _without_credentials() -> dict[str, str]:
    env = child_env()
    for name in ("INTAKE_API_KEYS", "CRM_WEBHOOK_SECRET", "ADMIN_TOKEN"):
        env.pop(name, None)
    return env


def test_make_run_starts_everything_and_ctrl_c_stops_every_process(kafka_bootstrap: str, tmp_path: Path) -> None:
    marker = f"LEADROUTER_TEST_RUN={uuid.uuid4().hex}"
    env = _without_credentials()
    env.update({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_SESSION_TIMEOUT_MS": "2000",
                marker.split("=")[0]: marker.split("=")[1]})
    for service in SERVICES.values():
        env[service.port_env] = str(free_port())
        env[service.database_env] = f"sqlite+aiosqlite:///{tmp_path / (service.name + '.db')}"
    supervisor = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for service in SERVICES.values():
            url = f"http://127.0.0.1:{env[service.port_env]}/healthz"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert supervisor.poll() is None, supervisor.stdout.read().decode() if supervisor.stdout else ""
                assert time.monotonic() < deadline, f"{service.name} did not come up"
                time.sleep(0.1)
        assert len(_processes_with_marker(marker)) >= 4  # the supervisor and three services
        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    text = output.decode()
    assert "ADMIN_TOKEN=dev-admin" in text and "INTAKE_API_KEYS=dev:dev-key" in text
    assert "CRM_WEBHOOK_SECRET=dev-secret" in text
    assert supervisor.returncode == 0
    assert _processes_with_marker(marker) == []


@pytest.mark.parametrize("service", list(SERVICES.values()), ids=lambda s: s.name)
def test_a_service_started_without_credentials_refuses_to_start(service: Service, tmp_path: Path) -> None:
    env = _without_credentials()
    env[service.database_env] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run([sys.executable, "-m", service.module], cwd=ROOT, env=env,
                            capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"is not set" in result.stderr
    assert not (tmp_path / "x.db").exists()
