"""The load generator: a process of its own that offers leads to intake at a steady, open-loop rate.

The n-th lead is due at ``n / rate`` seconds whatever happened to the ones before; each POST is its own task,
so a slow answer never holds back the next lead (up to ``--connections`` are in flight on their own
connection; beyond that a POST waits for a connection, and that wait counts in its latency because latency
is measured from the moment the lead was due). Writes one JSON record per lead to ``--out``:
``[n, due, started, ended, status, lead_id]`` with wall-clock times (``time.time()``) so they compare with
the services' timestamps and Kafka record timestamps on the same machine.

``python -m benchmarks.load_generator --url URL --rate R --seconds S --out FILE [--country DE]
[--captured-at EPOCH --captured-spread SECONDS]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx


def _lead(n: int, prefix: str, country: str, captured_at: float | None, spread: float, count: int) -> dict[str, Any]:
    lead: dict[str, Any] = {
        "email": f"{prefix}{n}@bench.example.com", "first_name": "Bench", "company": "Bench Co",
        "country": country, "industry": "fintech", "employees": 1000, "source": "web_form",
        "intent": "demo_request"}
    if captured_at is not None:  # windows ending within ``spread`` seconds of each other
        moment = captured_at + spread * n / max(1, count)
        lead["captured_at"] = datetime.fromtimestamp(moment, UTC).isoformat()
    return lead


async def offer(args: argparse.Namespace) -> list[list[Any]]:
    count = int(args.rate * args.seconds)
    records: list[list[Any]] = []
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    async with httpx.AsyncClient(base_url=args.url, headers={"X-API-Key": args.api_key}, limits=limits,
                                 timeout=args.timeout) as http:
        async def post(n: int, due: float) -> None:
            started = time.time()
            status: int | str
            lead_id = None
            try:
                answer = await http.post("/v1/leads", json=_lead(n, args.prefix, args.country, args.captured_at,
                                                                 args.captured_spread, count))
                status = answer.status_code
                if status == 202 or status == 200:
                    lead_id = answer.json().get("lead_id")
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            records.append([n, due, started, time.time(), status, lead_id])

        wall, base = time.time(), time.perf_counter()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, base + n / args.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(n, wall + n / args.rate)))
        await asyncio.gather(*tasks)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--api-key", default="bench-key")
    parser.add_argument("--prefix", default="lead")
    parser.add_argument("--country", default="US")
    parser.add_argument("--captured-at", type=float, default=None)
    parser.add_argument("--captured-spread", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    records = asyncio.run(offer(args))
    args.out.write_text(json.dumps(records))


if __name__ == "__main__":
    main()
