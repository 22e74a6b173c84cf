"""Speed of an assignment to the rep: from ``lead.received`` to the rep's Slack message and to the owner being
set in HubSpot, under steady load, through the whole stack.

Broker, intake, router and sla-monitor run as processes; a receiver process stands in for Slack (an incoming
webhook) and for HubSpot (``devstack.fake_hubspot``) and notes when each message arrives. This process offers
leads at a steady rate (``BENCH_RATE`` per second for ``BENCH_SECONDS``). Per lead: received (intake's
``received_at``) → assigned (the router's ``assigned_at``) → Slack message / HubSpot owner set (arrival at the
receiver); p50 and p99 of each stage. The raw baseline, in the same run and at the same rate: a POST from here
to the same receiver, which is what a delivery costs without leadrouter in the way.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from devstack.broker import free_port, start_broker, wait_for_port
from devstack.stack import SERVICES, child_env, migrate, start_service, stop_all

RATE = float(os.environ.get("BENCH_RATE", "10"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
ADMIN = {"Authorization": "Bearer bench-admin"}
LEAD_ID = re.compile(r"/v1/leads/([0-9a-f-]{36})")

ROUTING = """
teams:
  - id: na
    strategy: round_robin
    reps:
      - {id: rep-a, slack_user_id: U000000A1, crm: {hubspot_owner_id: "101"}}
      - {id: rep-b, slack_user_id: U000000B2, crm: {hubspot_owner_id: "102"}}
      - {id: rep-c, slack_user_id: U000000C3, crm: {hubspot_owner_id: "103"}}
rules:
  - {id: us-demo, priority: 10, match: {country: [US]}, team: na, urgency: hot}
fallback: {team: na, urgency: warm}
"""


def receiver(port: int) -> None:
    """The receiver process: HubSpot's API and a Slack incoming webhook, each noting arrival times."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from devstack.fake_hubspot import FakeHubSpot

    fake = FakeHubSpot()
    slack: dict[str, float] = {}
    baseline: dict[str, float] = {}

    async def slack_hook(request: Request) -> JSONResponse:
        arrived = time.time()
        match = LEAD_ID.search((await request.json()).get("text", ""))
        if match:
            slack.setdefault(match.group(1), arrived)
        return JSONResponse({"ok": True})

    async def raw(request: Request) -> JSONResponse:
        arrived = time.time()
        baseline[request.query_params["n"]] = arrived
        await request.body()
        return JSONResponse({"ok": True})

    async def arrivals(request: Request) -> JSONResponse:
        return JSONResponse({"slack": slack, "hubspot": fake.owner_set_at, "baseline": baseline})

    app = fake.app()
    app.router.routes.extend([Route("/slack", slack_hook, methods=["POST"]), Route("/raw", raw, methods=["POST"]),
                              Route("/_arrivals", arrivals, methods=["GET"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _stats(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def _offer(urls: dict[str, str], receiver_url: str) -> dict[str, Any]:
    leads: dict[str, str] = {}  # lead id -> email
    sent_raw: dict[str, float] = {}
    count = int(RATE * SECONDS)
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(urls["sla-monitor"] + "/v1/subscriptions", headers=ADMIN, json={
            "url": receiver_url + "/slack", "events": ["lead.assigned"], "format": "slack"})
        assert answer.status_code == 201, answer.text

        async def post(n: int) -> None:
            email = f"lead{n}@bench.example.com"
            answer = await http.post(urls["intake"] + "/v1/leads", headers={"X-API-Key": "bench-key"}, json={
                "email": email, "first_name": "Bench", "company": "Bench Co", "country": "US",
                "source": "web_form", "intent": "demo_request"})
            leads[answer.json()["lead_id"]] = email

        async def post_raw(n: int) -> None:
            sent_raw[str(n)] = time.time()
            await http.post(receiver_url + f"/raw?n={n}", json={"text": "baseline"})

        started = time.perf_counter()
        tasks = []
        for n in range(count):  # steady: the n-th lead leaves at n / RATE seconds, whatever came before
            await asyncio.sleep(max(0.0, started + n / RATE - time.perf_counter()))
            tasks += [asyncio.create_task(post(n)), asyncio.create_task(post_raw(n))]
        await asyncio.gather(*tasks)

        async def everything() -> dict[str, Any] | None:
            got = (await http.get(receiver_url + "/_arrivals")).json()
            done = len(got["slack"]) >= count and len(got["hubspot"]) >= count
            return got if done or time.perf_counter() - started > SECONDS + 120 else None

        arrivals: dict[str, Any] | None = None
        while arrivals is None:
            arrivals = await everything()
            await asyncio.sleep(0.5)
        received, assigned = {}, {}
        for lead_id in leads:
            lead = (await http.get(urls["intake"] + f"/v1/leads/{lead_id}", headers=ADMIN)).json()
            received[lead_id] = datetime.fromisoformat(lead["received_at"]).timestamp()
            current = (await http.get(urls["router"] + f"/v1/assignments/{lead_id}", headers=ADMIN)).json()
            if (current.get("current") or {}).get("assigned_at"):
                assigned[lead_id] = datetime.fromisoformat(current["current"]["assigned_at"]).timestamp()
    slack, hubspot = arrivals["slack"], arrivals["hubspot"]
    return {
        "offered_leads_per_s": RATE, "seconds": SECONDS, "leads": count,
        "received_to_assigned": _stats([assigned[i] - received[i] for i in assigned]),
        "assigned_to_slack": _stats([slack[i] - assigned[i] for i in assigned if i in slack]),
        "assigned_to_hubspot_owner": _stats([hubspot[e] - assigned[i] for i, e in leads.items()
                                             if i in assigned and e in hubspot]),
        "received_to_slack": _stats([slack[i] - received[i] for i in leads if i in slack]),
        "received_to_hubspot_owner": _stats([hubspot[e] - received[i] for i, e in leads.items() if e in hubspot]),
        "raw_post_to_receiver_baseline": _stats([arrivals["baseline"][n] - t for n, t in sent_raw.items()
                                                 if n in arrivals["baseline"]]),
        "missing": {"slack": count - len(slack), "hubspot": count - len(hubspot)},
    }


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        routing = Path(tmp) / "routing.yaml"
        routing.write_text(ROUTING)
        port, receiver_port = free_port(), free_port()
        broker = start_broker(port)
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        env = child_env({"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "INTAKE_API_KEYS": "bench:bench-key",
                         "CRM_WEBHOOK_SECRET": "bench-secret", "ADMIN_TOKEN": "bench-admin",
                         "LOG_LEVEL": "WARNING", "KAFKA_SESSION_TIMEOUT_MS": "2000",
                         "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true", "ROUTING_CONFIG_PATH": str(routing),
                         "HUBSPOT_ACCESS_TOKEN": "bench-token", "HUBSPOT_API_URL": receiver_url})
        processes: list[subprocess.Popen[bytes]] = [subprocess.Popen(
            [sys.executable, "-m", "benchmarks.assignment_bench", "receiver", str(receiver_port)], env=env)]
        urls = {}
        try:
            for name, service in SERVICES.items():
                env[service.database_env] = f"sqlite+aiosqlite:///{Path(tmp) / (name + '.db')}"
                env[service.port_env] = str(free_port())
                urls[name] = f"http://127.0.0.1:{env[service.port_env]}"
                migrate(service, env)
                processes.append(start_service(service, env))
            for service in SERVICES.values():
                wait_for_port("127.0.0.1", int(env[service.port_env]), timeout=60)
            wait_for_port("127.0.0.1", receiver_port, timeout=30)
            time.sleep(3)  # consumers join their groups
            result = asyncio.run(_offer(urls, receiver_url))
        finally:
            stop_all(processes)
            stop_all([broker])
    print(result)
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["receiver"]:
        receiver(int(sys.argv[2]))
    else:
        main()
