"""Alert lateness of the SLA ticker: N running clocks due over a spread of time, fired by the real ticker on a
real database; lateness = when the ticker fired a clock − its due time. Also the process's peak RSS, with and
without many clocks that are far from due (they should cost nothing).

Environment: BENCH_DATABASE_URL (default: a SQLite file), SLA_BENCH_SIZES (default "10000:60,100000:120",
i.e. clocks:spread-seconds).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import statistics
import tempfile
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from shared.clock import SystemClock
from shared.db import create_engine, create_session_factory, run_migrations
from sla_monitor import tables
from sla_monitor.clock_store import clock_values
from sla_monitor.domain.clock import start_clock
from sla_monitor.domain.policies import Policy
from sla_monitor.ticker import Ticker

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "services" / "sla-monitor" / "alembic.ini"
POLICY = Policy.model_validate({"first_response": "30m"})
PARTITIONS = frozenset(range(6))


def _rows(count: int, *, first_due: datetime, spread: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        due = first_due + timedelta(seconds=spread * i / max(1, count - 1))
        clock = start_clock(POLICY, assigned_at=due - POLICY.first_response)
        rows.append({**clock_values(clock, POLICY), "clock_id": str(uuid.uuid4()), "lead_id": f"lead-{i}",
                     "partition": i % 6, "assignment_event_id": str(uuid.uuid4()), "team": "bench",
                     "rep_id": "rep-bench", "urgency": "hot", "source": "web_form", "campaign": None,
                     "lead": {"name": "Bench Lead"}, "policy": POLICY.model_dump(mode="json"), "policy_version": 1,
                     "history": []})
    return rows


async def _seed(url: str, count: int, spread: float, far: int) -> datetime:
    """Insert the clocks (in its own process, so it does not count towards the ticker's memory)."""
    engine = create_engine(url, schema="sla_monitor")
    first_due = datetime.now(UTC) + timedelta(seconds=15)
    async with create_session_factory(engine).begin() as session:
        for chunk_start in range(0, count, 5000):
            chunk = _rows(min(5000, count - chunk_start), first_due=first_due, spread=spread)
            for offset, row in enumerate(chunk):
                row["lead_id"] = f"lead-{chunk_start + offset}"
            await session.execute(insert(tables.clocks), chunk)
        for chunk_start in range(0, far, 5000):
            await session.execute(insert(tables.clocks), _rows(min(5000, far - chunk_start),
                                                               first_due=first_due + timedelta(days=30), spread=3600))
    await engine.dispose()
    return first_due


async def _fire(url: str, first_due: datetime, count: int, spread: float, far: int) -> dict[str, Any]:
    """Run the real ticker until every near clock is due, then measure how late each one fired."""
    engine = create_engine(url, schema="sla_monitor")
    session_factory = create_session_factory(engine)
    ticker = Ticker(session_factory=session_factory, clock=SystemClock(), partitions=lambda: PARTITIONS,
                    after_fire=lambda: None)
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep((first_due - datetime.now(UTC)).total_seconds() + spread + 3)
    await ticker.stop()
    await task
    async with session_factory() as session:
        rows = (await session.execute(select(tables.clocks.c.due_at, tables.clocks.c.history)
                                      .where(tables.clocks.c.state == "breached"))).all()
    await engine.dispose()
    lateness = sorted((datetime.fromisoformat(r.history[-1]["at"]) - r.due_at).total_seconds() for r in rows)
    return {
        "clocks_due": count, "far_clocks": far, "spread_seconds": spread, "fired": len(rows),
        "lateness_p50_ms": round(statistics.median(lateness) * 1000, 1) if lateness else None,
        "lateness_p99_ms": round(lateness[int(0.99 * (len(lateness) - 1))] * 1000, 1) if lateness else None,
        "lateness_max_ms": round(lateness[-1] * 1000, 1) if lateness else None,
        "ticker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _fresh_database(tmp: str, name: str) -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{Path(tmp) / name}"
    run_migrations(ALEMBIC_INI, url)
    return url


def _seed_in_process(url: str, count: int, spread: float, far: int) -> datetime:
    return asyncio.run(_seed(url, count, spread, far))


def _fire_in_process(url: str, first_due: datetime, count: int, spread: float, far: int) -> dict[str, Any]:
    return asyncio.run(_fire(url, first_due, count, spread, far))


def main() -> dict[str, Any]:
    sizes = [tuple(map(float, part.split(":")))
             for part in os.environ.get("SLA_BENCH_SIZES", "10000:60,100000:120").split(",")]
    # The first size again with 100k clocks far from due: memory and lateness should not move.
    scenarios = [(int(count), spread, 0) for count, spread in sizes] + [(int(sizes[0][0]), sizes[0][1], 100_000)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (count, spread, far) in enumerate(scenarios):
            url = _fresh_database(tmp, f"bench-{index}.db")
            # Fresh processes, so that the peak RSS is the ticker's alone.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                first_due = pool.submit(_seed_in_process, url, count, spread, far).result()
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                result = pool.submit(_fire_in_process, url, first_due, count, spread, far).result()
            print(result, flush=True)
            results.append(result)
    return {"runs": results}


if __name__ == "__main__":
    main()
