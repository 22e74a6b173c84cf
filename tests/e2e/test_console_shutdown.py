"""A live stream open in a browser does not hold the sla-monitor up when it is told to stop: the streams end
first, and uvicorn never has to cancel them at its graceful-shutdown timeout."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port
from devstack.stack import SERVICES, child_env, migrate, start_service
from tests.e2e.conftest import CREDENTIALS, _wait_healthy

pytestmark = pytest.mark.e2e


def test_sigterm_ends_open_streams_instead_of_waiting_for_them(kafka_bootstrap: str, tmp_path: Path) -> None:
    service = SERVICES["sla-monitor"]
    port = free_port()
    env = child_env({**CREDENTIALS, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, service.port_env: str(port),
                     service.database_env: f"sqlite+aiosqlite:///{tmp_path / 'sla.db'}", "LOG_LEVEL": "INFO"})
    migrate(service, env)
    log = tmp_path / "sla-monitor.log"
    with open(log, "wb") as out:
        process = start_service(service, env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, process, log)
        admin = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
        with httpx.Client(base_url=base) as browser:
            assert browser.post("/ops/login", data={"token": CREDENTIALS["ADMIN_TOKEN"]}).status_code == 303
            with browser.stream("GET", "/ops/board/stream") as board, \
                    browser.stream("GET", "/v1/events/stream", headers=admin, timeout=30) as events:
                board_lines, event_lines = board.iter_lines(), events.iter_lines()
                assert next(board_lines) == "retry: 2000" and next(event_lines).startswith(": following")
                process.send_signal(signal.SIGTERM)
                assert all(line == "" for line in board_lines)
                assert all(line == "" or line.startswith(":") for line in event_lines)  # ended, not cut off
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once stopped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "timeout graceful shutdown exceeded" not in log.read_text()
