"""Two weeks of speed-to-lead history for the console's browser tests: assignments and first calls published on
the stack's broker with past times, as the router and a CRM would have sent them, so the Reports charts and the
Reps figures have something to show. Deterministic (a seeded random generator)."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from aiokafka import AIOKafkaProducer

from shared import topics
from shared.events import ActivityRecorded, CloudEvent, LeadAssigned, LeadSummary

#: Team → (its reps in config/routing.yaml, the median first response in minutes two weeks ago).
TEAMS = {"na-enterprise": (["rep-ana", "rep-ben", "rep-cy"], 40.0),
         "emea": (["rep-dora", "rep-emil"], 90.0),
         "inbound-desk": (["rep-fay", "rep-gus"], 15.0)}
SOURCES = [("web_form", "q4-pricing"), ("webinar", "dec-webinar"), ("badge_scan", "saastr-2026")]


def history(now: datetime, *, days: int = 14, seed: int = 7) -> list[tuple[str, CloudEvent]]:
    """(topic, event) pairs: each day a few warm leads per team, most called within the 24 h window (faster as the
    weeks go by), some never, some late."""
    rng = random.Random(seed)
    events: list[tuple[str, CloudEvent]] = []
    for day in range(days, -1, -1):
        for team, (reps, slowest) in TEAMS.items():
            for n in range(rng.randint(3, 6)):
                lead_id = f"hist-{day}-{team}-{n}"
                assigned_at = now - timedelta(days=day, hours=rng.uniform(0.5, 10))
                source, campaign = rng.choice(SOURCES)
                rep_id = rng.choice(reps)
                assigned = LeadAssigned(
                    lead_id=lead_id, team=team, rep_id=rep_id, urgency="warm", rule_id="history",
                    explanation=["seeded history"], assigned_at=assigned_at, reason="initial",
                    lead=LeadSummary(company=f"Company {n}", source=source, campaign=campaign))
                events.append((topics.LEADS_ASSIGNED, CloudEvent.wrap(assigned, source="test/router")))
                roll = rng.random()
                if roll < 0.1:
                    continue  # never called: breached
                median = slowest * (0.4 + 0.6 * day / days)
                minutes = 60 * rng.uniform(25, 40) if roll > 0.93 else median * rng.lognormvariate(0, 0.6)
                called_at = assigned_at + timedelta(minutes=minutes)
                if called_at >= now:
                    continue
                call = ActivityRecorded(lead_id=lead_id, activity_id=f"{lead_id}-call", type="call",
                                        direction="outbound", rep_id=rep_id, occurred_at=called_at, received_at=now)
                events.append((topics.LEADS_ACTIVITY, CloudEvent.wrap(call, source="test/intake")))
    return events


async def _publish(bootstrap: str, events: list[tuple[str, CloudEvent]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, event in events:
            await producer.send(topic, event.to_bytes(), key=event.subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


class Published(NamedTuple):
    leads: int
    calls: int


def publish_history(bootstrap: str, now: datetime | None = None) -> Published:
    """Publish ``history`` on the broker; how many leads and first calls it holds. Runs in a thread with its own
    event loop, out of the way of Playwright's."""
    events = history(now or datetime.now(UTC))
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _publish(bootstrap, events)).result()
    return Published(leads=sum(1 for topic, _ in events if topic == topics.LEADS_ASSIGNED),
                     calls=sum(1 for topic, _ in events if topic == topics.LEADS_ACTIVITY))
