"""Speed to lead through the real pipeline: intake -> broker -> router, as separate processes.

Posts leads over HTTP and reads ``lead.assigned`` from Kafka; reports intake latency, throughput and the time
from acceptance (``received_at``) to assignment (``assigned_at``).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from devstack.broker import free_port, start_broker, wait_for_port
from devstack.stack import SERVICES, child_env, migrate, start_service, stop_all
from shared import topics
from shared.events import LeadAssigned, parse_data
from tests.support import TopicReader

LEADS = 500
CONCURRENCY = 20


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(intake_url: str, kafka: str) -> dict[str, Any]:
    latencies: list[float] = []
    lead_ids: set[str] = set()
    semaphore = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=intake_url, headers={"X-API-Key": "bench-key"}, timeout=30) as http:
        async def post(i: int) -> None:
            async with semaphore:
                started = time.perf_counter()
                answer = await http.post("/v1/leads", json={
                    "email": f"lead{i}@bench.example.com", "country": "US", "industry": "fintech",
                    "employees": 1000, "source": "web_form", "intent": "demo_request"})
                latencies.append(time.perf_counter() - started)
                lead_ids.add(answer.json()["lead_id"])

        started = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(LEADS)))
        elapsed = time.perf_counter() - started
    async with TopicReader(kafka, topics.LEADS_ASSIGNED) as reader:
        events = await reader.wait_for(lambda e: e.subject in lead_ids, count=LEADS, timeout=300)
        one_at_a_time = await _speed_to_assignment(intake_url, reader)
    to_assign, assigned_at, received_at = [], [], []
    for event in events:
        data = parse_data(event)
        assert isinstance(data, LeadAssigned)
        assigned_at.append(data.assigned_at)
        if data.lead.received_at is not None:
            received_at.append(data.lead.received_at)
            to_assign.append((data.assigned_at - data.lead.received_at).total_seconds() * 1000)
    routing_span = (max(assigned_at) - min(received_at)).total_seconds()
    return {
        "leads": LEADS, "concurrency": CONCURRENCY,
        "intake_throughput_per_s": round(LEADS / elapsed, 1),
        "intake_latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "intake_latency_ms_p99": round(_pct(latencies, 0.99) * 1000, 1),
        "router_throughput_per_s": round(LEADS / routing_span, 1),
        "burst_received_to_assigned_ms_p50": round(statistics.median(to_assign), 1) if to_assign else None,
        "burst_received_to_assigned_ms_p99": round(_pct(to_assign, 0.99), 1) if to_assign else None,
        "single_post_to_assigned_event_ms_p50": round(statistics.median(one_at_a_time), 1),
        "single_post_to_assigned_event_ms_max": round(max(one_at_a_time), 1),
    }


async def _speed_to_assignment(intake_url: str, reader: TopicReader, count: int = 30) -> list[float]:
    """One lead at a time, at rest: from the POST to seeing its ``lead.assigned`` on Kafka, in ms."""
    latencies = []
    async with httpx.AsyncClient(base_url=intake_url, headers={"X-API-Key": "bench-key"}, timeout=30) as http:
        for i in range(count):
            started = time.perf_counter()
            answer = await http.post("/v1/leads", json={"email": f"single{i}@bench.example.com", "country": "US",
                                                        "source": "web_form", "intent": "demo_request"})
            lead_id = answer.json()["lead_id"]
            await reader.wait_for(lambda e, lead_id=lead_id: e.subject == lead_id, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)
    return latencies


ROUTING = """
teams:
  - id: na
    strategy: round_robin
    reps: [{id: rep-a}, {id: rep-b}, {id: rep-c}, {id: rep-d}]
  - id: desk
    strategy: least_loaded
    reps: [{id: rep-x}, {id: rep-y}]
rules:
  - {id: us-demo, priority: 10, match: {country: [US], intent: [demo_request]}, team: na, urgency: hot}
fallback: {team: desk, urgency: warm}
"""


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        routing = Path(tmp) / "routing.yaml"
        routing.write_text(ROUTING)  # no capacities: every lead is assigned, none waits in a queue
        port = free_port()
        broker = start_broker(port)
        env = child_env({"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "INTAKE_API_KEYS": "bench:bench-key",
                         "CRM_WEBHOOK_SECRET": "bench-secret", "ADMIN_TOKEN": "bench-admin",
                         "LOG_LEVEL": "WARNING", "KAFKA_SESSION_TIMEOUT_MS": "2000",
                         "INTAKE_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'intake.db'}",
                         "ROUTER_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'router.db'}",
                         "ROUTING_CONFIG_PATH": str(routing)})
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for name in ("intake", "router"):
                service = SERVICES[name]
                env[service.port_env] = str(free_port())
                migrate(service, env)
                processes.append(start_service(service, env))
                wait_for_port("127.0.0.1", int(env[service.port_env]), timeout=60)
            result = asyncio.run(_run(f"http://127.0.0.1:{env[SERVICES['intake'].port_env]}",
                                      f"127.0.0.1:{port}"))
        finally:
            stop_all(processes)
            stop_all([broker])
    print(result)
    return result


if __name__ == "__main__":
    main()
