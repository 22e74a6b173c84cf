"""Backtest run time: 30 days x 1,000 leads a day, replayed through a draft routing document.

The leads are routed for real first (the router's batch routing, ``BENCH_SEED_BATCH`` at a time, into a freshly
migrated database: SQLite in a temporary directory, or the empty ``BENCH_DATABASE_URL``), received evenly over
the 30 days; 99% are touched about 20 minutes after assignment on average, so capacity and least-loaded see
leads open and close.
Then the draft (``config/routing.yaml`` with its hot US fintech rule sent to the inbound desk) is backtested
over the 30 days; the time of ``run_backtest`` (reading the rows and replaying them) is reported, best of
``BENCH_REPEAT`` runs.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import bindparam, update

from lead_router import tables
from lead_router.backtesting import run_backtest
from lead_router.config_store import routing_documents
from lead_router.domain.config import parse_document
from lead_router.routing import route_received_leads
from shared import db
from shared.events import LeadReceived

ROOT = Path(__file__).resolve().parents[1]
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
PER_DAY = int(os.environ.get("BENCH_PER_DAY", "1000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
BATCH = int(os.environ.get("BENCH_SEED_BATCH", "50"))
END = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
COUNTRIES = ["US", "US", "US", "CA", "DE", "FR", "GB", "NL", "BR", "IN", "JP", "AU"]
INDUSTRIES = ["fintech", "banking", "insurance", "retail", "saas", "health"]
INTENTS = ["demo_request", "pricing", "contact_us", "content_download", None]
SOURCES = ["web_form", "web_form", "webinar", "badge_scan", "referral"]


def _lead(rng: random.Random, n: int, received_at: datetime) -> LeadReceived:
    person = rng.randrange(PER_DAY * DAYS // 2)  # some contacts come back: ownership
    return LeadReceived(lead_id=f"bench-{n:06}", received_at=received_at, email=f"p{person}@co{person % 900}.com",
                        country=rng.choice(COUNTRIES), industry=rng.choice(INDUSTRIES),
                        employees=rng.choice([20, 150, 400, 1200, 8000]), intent=rng.choice(INTENTS),
                        source=rng.choice(SOURCES))


async def _seed(factory: Any, document: dict[str, Any], rng: random.Random) -> None:
    documents = routing_documents()
    start = END - timedelta(days=DAYS)
    total = DAYS * PER_DAY
    step = timedelta(days=DAYS) / total
    async with factory.begin() as session:
        await documents.save(session, document, origin="bench", now=start)
    for first in range(0, total, BATCH):
        leads = [_lead(rng, n, start + n * step) for n in range(first, min(first + BATCH, total))]
        now = leads[-1].received_at
        async with factory.begin() as session:
            active = await documents.active(session)
            await route_received_leads(session, leads, active=active, now=now)
            touches = [{"lid": lead.lead_id, "t": now + timedelta(minutes=rng.expovariate(1 / 20))}
                       for lead in leads if rng.random() < 0.99]
            a = tables.assignments
            await session.execute(update(a).where(a.c.lead_id == bindparam("lid"), a.c.current.is_(True),
                                                  a.c.state == "assigned").values(touched_at=bindparam("t")),
                                  touches)


async def _measure(url: str) -> dict[str, Any]:
    engine = db.create_engine(url, schema="router")
    factory = db.create_session_factory(engine)
    try:
        await asyncio.to_thread(db.run_migrations, ROOT / "services" / "router" / "alembic.ini", url)
        current = yaml.safe_load((ROOT / "config" / "routing.yaml").read_text())
        rng = random.Random(12)
        seeding = time.perf_counter()
        await _seed(factory, current, rng)
        seeded_s = time.perf_counter() - seeding
        draft = copy.deepcopy(current)
        draft["rules"][0]["team"] = "inbound-desk"
        config = parse_document(draft)
        runs, outcome = [], None
        for _ in range(REPEAT):
            async with factory() as session:
                started = time.perf_counter()
                outcome = await run_backtest(session, config, since=END - timedelta(days=DAYS), until=END)
                runs.append(time.perf_counter() - started)
        assert outcome is not None
        return {"leads": outcome.leads, "changed": outcome.changed, "seconds_best": round(min(runs), 2),
                "seconds_runs": [round(r, 2) for r in runs], "seed_seconds": round(seeded_s, 1),
                "teams": outcome.teams()}
    finally:
        await engine.dispose()


def main() -> dict[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_measure(url or f"sqlite+aiosqlite:///{tmp}/router.db"))
    result = {"days": DAYS, "leads_per_day": PER_DAY, "database": "postgresql" if url else "sqlite", **result}
    print(result)
    return result


if __name__ == "__main__":
    main()
