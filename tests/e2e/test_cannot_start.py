"""A service that cannot start says so in one line, naming itself and the reason, and exits non-zero."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.broker import free_port
from devstack.stack import ROOT, SERVICES, Service, child_env

pytestmark = pytest.mark.e2e

CREDENTIALS = {"INTAKE_API_KEYS": "t:t-key", "CRM_WEBHOOK_SECRET": "t-secret", "ADMIN_TOKEN": "t-admin"}
ALL = pytest.mark.parametrize("service", list(SERVICES.values()), ids=lambda s: s.name)


def _run(service: Service, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", service.module, *args], cwd=ROOT, capture_output=True, text=True,
                          env=child_env({**CREDENTIALS, "LOG_LEVEL": "WARNING", **env}), timeout=60)


def _unreachable() -> tuple[str, int]:
    port = free_port()  # nothing listens there
    return f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{port}/leadrouter", port


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@ALL
@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_service_pointed_at_an_unreachable_database_says_so_in_one_line(service: Service, command: str) -> None:
    url, port = _unreachable()
    result = _run(service, command, **{service.database_env: url})
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith(f"{service.name}: cannot start: ")
    assert f"the database at 127.0.0.1:{port} is unreachable" in line
    assert "hunter2" not in result.stderr + result.stdout


@ALL
def test_a_service_whose_database_is_not_migrated_names_the_command_to_run(service: Service, tmp_path: Path) -> None:
    result = _run(service, **{service.database_env: f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"})
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith(f"{service.name}: cannot start: ")
    assert "has none of its tables, expected " in line
    assert f"python -m {service.module} migrate" in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_service_whose_port_is_taken_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    intake = SERVICES["intake"]
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    assert _run(intake, "migrate", **{intake.database_env: url}).returncode == 0
    result = _run(intake, **{intake.database_env: url, intake.port_env: str(taken_port)})
    assert result.returncode == 1
    assert _one_line(result) == f"intake: cannot start: port {taken_port} on 127.0.0.1 is already in use."


def test_two_services_given_the_same_sqlite_file_are_told_to_use_their_own(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    intake, router = SERVICES["intake"], SERVICES["router"]
    assert _run(intake, "migrate", **{intake.database_env: url}).returncode == 0
    result = _run(router, "migrate", **{router.database_env: url})
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("router: cannot start: database migrations failed: ")
    assert "already holds the tables of service 'intake'" in line


def test_a_failure_while_the_app_starts_is_told_in_one_line_too(tmp_path: Path) -> None:
    router = SERVICES["router"]
    url = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    assert _run(router, "migrate", **{router.database_env: url}).returncode == 0
    result = _run(router, **{router.database_env: url, router.port_env: str(free_port()),
                             "ROUTING_CONFIG_PATH": str(tmp_path / "missing.yaml")})
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("router: cannot start: ") and "set ROUTING_CONFIG_PATH" in line
