"""Two SLA monitors in one consumer group split the clocks by partition; when one is killed (SIGKILL, no
goodbye), the survivor takes its partitions after the session timeout and fires the orphaned clocks, once."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from devstack.broker import free_port
from devstack.stack import SERVICES, child_env, start_service
from shared import topics
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import assigned, migrated, send
from tests.support import TopicReader, eventually

POLICIES = """policies:
  hot:  {first_response: 6s}
  warm: {first_response: 24h}
  cold: {first_response: 72h}
"""
LEADS = 24


async def test_a_killed_instances_clocks_fire_once_on_the_survivor(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(POLICIES)
    service = SERVICES["sla-monitor"]
    env = child_env({"SLA_MONITOR_DATABASE_URL": await migrated(databases), "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                     "KAFKA_SESSION_TIMEOUT_MS": "2000", "ADMIN_TOKEN": "test-admin",
                     "SLA_POLICIES_PATH": str(policies), "LOG_LEVEL": "WARNING"})
    processes: list[subprocess.Popen[bytes]] = []
    ports = []
    logs = [tmp_path / f"sla-monitor-{n}.log" for n in range(2)]
    try:
        for log in logs:
            # One after the other: two processes seeding one SQLite file at the same instant contend for its
            # single writer (an instance per SQLite file is the supported setup; PostgreSQL takes both at once).
            if ports:
                await eventually(_ready(ports[-1]), timeout=60, what="the first instance to be ready")
            ports.append(free_port())
            with log.open("wb") as output:
                processes.append(start_service(service, {**env, service.port_env: str(ports[-1])},
                                               stdout=output, stderr=subprocess.STDOUT))

        async def both_own_partitions() -> bool:
            owned = []
            async with httpx.AsyncClient() as http:
                for port in ports:
                    try:
                        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    except httpx.HTTPError:
                        return False
                    line = next((x for x in text.splitlines() if x.startswith("leadrouter_sla_owned_partitions ")),
                                "x 0")
                    owned.append(float(line.split()[1]))
            return owned == [3.0, 3.0]

        try:
            await eventually(both_own_partitions, timeout=60, what="two instances owning three partitions each")
        except AssertionError as exc:
            states = [f"instance {n}: exit code {p.poll()}; log ends: {log.read_text(errors='replace')[-1500:]}"
                      for n, (p, log) in enumerate(zip(processes, logs, strict=True))]
            raise AssertionError("\n".join([str(exc), *states])) from None
        start = datetime.now(UTC)
        for i in range(LEADS):
            await send(kafka_bootstrap, assigned(f"orphan-{i:02d}", at=start))
        async with TopicReader(kafka_bootstrap, topics.SLA_ALERTS) as reader:
            await eventually(_clocks_started(ports[1], LEADS), timeout=30, what="every clock to start")
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait()
            breaches = await reader.wait_for(lambda e: e.type == "sla.breached", count=LEADS, timeout=60)
            await reader.poll()
            breaches = [e for e in reader.events if e.type == "sla.breached"]
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    fired = Counter(e.subject for e in breaches)
    assert set(fired) == {f"orphan-{i:02d}" for i in range(LEADS)}
    assert set(fired.values()) == {1}
    due = start + timedelta(seconds=6)
    assert all(datetime.fromisoformat(e.data["due_at"]) == due for e in breaches)


def _ready(port: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def _clocks_started(port: int, expected: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        async with httpx.AsyncClient(headers={"Authorization": "Bearer test-admin"}) as http:
            report = (await http.get(f"http://127.0.0.1:{port}/v1/reports/speed-to-lead")).json()
        return sum(g["leads"] for g in report["groups"]) == expected

    return probe
