"""The load generator: a process of its own that offers leads to intake at a steady, open-loop rate.

The n-th lead is due at ``n / rate`` seconds whatever happened to the ones before; each POST is its own task,
so a slow answer never holds back the next lead (up to ``--connections`` are in flight, each on its own
keep-alive connection; beyond that a POST waits for a connection, and that wait counts in its latency because
latency is measured from the moment the lead was due). Writes one JSON record per lead to ``--out``:
``[n, due, started, ended, status, lead_id]`` with wall-clock times (``time.time()``) so they compare with
the services' timestamps and Kafka record timestamps on the same machine.

``python -m benchmarks.load_generator --url URL --rate R --seconds S --out FILE [--country DE]
[--captured-at EPOCH --captured-spread SECONDS]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _lead(n: int, prefix: str, country: str, captured_at: float | None, spread: float, count: int) -> dict[str, Any]:
    lead: dict[str, Any] = {
        "email": f"{prefix}{n}@bench.example.com", "first_name": "Bench", "company": "Bench Co",
        "country": country, "industry": "fintech", "employees": 1000, "source": "web_form",
        "intent": "demo_request"}
    if captured_at is not None:  # windows ending within ``spread`` seconds of each other
        moment = captured_at + spread * n / max(1, count)
        lead["captured_at"] = datetime.fromtimestamp(moment, UTC).isoformat()
    return lead


class Connections:
    """A lean HTTP/1.1 keep-alive client (httpx costs several times the CPU per request, and the generator
    must not be what limits the offered rate): up to ``limit`` connections, idle ones reused, LIFO."""

    IDLE_SECONDS = 3.0  # below uvicorn's 5 s keep-alive, so a reused connection is never one it is closing

    def __init__(self, url: str, api_key: str, limit: int) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = (f"POST /v1/leads HTTP/1.1\r\nHost: {parts.netloc}\r\nX-API-Key: {api_key}\r\n"
                      "Content-Type: application/json\r\nContent-Length: ")
        self._idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(f"{self._head}{len(body)}\r\n\r\n".encode() + body)
                status = int((await reader.readline()).split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                answer = await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            if close:
                writer.close()
            else:
                self._idle.append((time.monotonic(), reader, writer))
            return status, answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            used, reader, writer = self._idle.pop()
            if time.monotonic() - used < self.IDLE_SECONDS and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self._host, self._port)

    def close(self) -> None:
        for _, _, writer in self._idle:
            writer.close()


async def offer(args: argparse.Namespace) -> list[list[Any]]:
    count = int(args.rate * args.seconds)
    records: list[list[Any]] = []
    http = Connections(args.url, args.api_key, args.connections)
    # As the services do (shared.entrypoint.settle_garbage_collector): a full collection over everything
    # loaded would pause the generator ~50 ms, and show up as the services' POST latency.
    gc.collect()
    gc.freeze()

    async def post(n: int, due: float) -> None:
        started = time.time()
        status: int | str
        lead_id = None
        body = json.dumps(_lead(n, args.prefix, args.country, args.captured_at, args.captured_spread, count))
        try:
            status, answer = await asyncio.wait_for(http.post(body.encode()), timeout=args.timeout)
            if status in (200, 202):
                lead_id = json.loads(answer).get("lead_id")
        except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            status = type(exc).__name__
        records.append([n, due, started, time.time(), status, lead_id])

    wall, base = time.time(), time.perf_counter()
    tasks = []
    try:
        for n in range(count):
            await asyncio.sleep(max(0.0, base + n / args.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(n, wall + n / args.rate)))
        await asyncio.gather(*tasks)
    finally:
        http.close()
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
