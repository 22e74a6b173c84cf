"""History for the load benchmark: ``HISTORY=`` leads already stored, ``OPEN=`` of them still open.

The issue's last target is that the figures stay the same with a large history: 1 M leads stored and 100 k
assignments open (100 k clocks running). This module writes that history into the three services' databases
after their migrations and before they start, with the services' own table definitions and the SLA
monitor's own clock code (so the rows are exactly what the services would have written):

- intake: every lead;
- router: every lead and its current assignment, the last ``open`` of them untouched (open leads of the
  bench's reps), the rest touched;
- sla-monitor: a clock per lead: ``open`` running (due in about 20 h, so none fires during the run), the
  rest met.

History leads use their own email domains, so they own no bench lead (the bench's routing document turns no
domain matching on); what they cost is what history costs: larger tables and indexes, and the open leads
that count against each rep.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import Table, insert

from shared.db import create_engine

CHUNK = 5_000
REPS = ("rep-a", "rep-b", "rep-c", "rep-d")


def _chunks(total: int) -> Iterator[range]:
    for start in range(0, total, CHUNK):
        yield range(start, min(total, start + CHUNK))


async def _fill(url: str, schema: str, table: Table, rows: Any, total: int) -> None:
    engine = create_engine(url, schema=schema)
    try:
        for part in _chunks(total):
            async with engine.begin() as conn:
                await conn.execute(insert(table), [rows(i) for i in part])
    finally:
        await engine.dispose()


def _lead_id(i: int) -> str:
    return f"hist-{i:08d}"


def _email(i: int) -> str:
    return f"h{i}@hist{i % 5000}.example.org"


async def seed(database_urls: dict[str, str], *, leads: int, open_leads: int, policies: str,
               now: datetime) -> dict[str, Any]:
    """Write the history; return how many rows and how long it took."""
    from intake import tables as intake_tables
    from lead_router import tables as router_tables
    from sla_monitor.clock_store import clock_values
    from sla_monitor.domain.clock import start_clock
    from sla_monitor.domain.policies import parse_policies

    started = time.monotonic()
    first_open = leads - open_leads
    spacing = timedelta(days=30) / max(leads, 1)  # the history spans the last 30 days

    def received_at(i: int) -> datetime:
        return now - timedelta(days=30) + spacing * i

    def lead_data(i: int) -> dict[str, Any]:
        return {"lead_id": _lead_id(i), "email": _email(i), "first_name": "Hist", "company": f"Hist {i % 5000}",
                "country": "US", "industry": "fintech", "employees": 1000, "source": "web_form",
                "received_at": received_at(i).isoformat()}

    def intake_row(i: int) -> dict[str, Any]:
        return {"lead_id": _lead_id(i), "email": _email(i), "phone": None, "source": "web_form",
                "submitted_by": "bench", "data": lead_data(i), "duplicate_of": None, "received_at": received_at(i)}

    def router_lead(i: int) -> dict[str, Any]:
        return {"lead_id": _lead_id(i), "email": _email(i), "email_domain": f"hist{i % 5000}.example.org",
                "data": lead_data(i), "received_at": received_at(i)}

    def assignment(i: int) -> dict[str, Any]:
        at = received_at(i)
        return {"lead_id": _lead_id(i), "state": "assigned", "current": True, "team": "na",
                "rep_id": REPS[i % len(REPS)], "urgency": "warm", "rule_id": "us-demo",
                "explanation": ["history"], "config_version": 1, "reason": "initial", "queued_at": None,
                "assigned_at": at, "touched_at": None if i >= first_open else at + timedelta(minutes=20)}

    policy = parse_policies(yaml.safe_load(policies)).policies["warm"]
    policy_json = policy.model_dump(mode="json")
    running = clock_values(start_clock(policy, assigned_at=now - timedelta(hours=4)), policy)
    met = {**clock_values(start_clock(policy, assigned_at=now - timedelta(days=10)), policy),
           "state": "met", "next_action_at": None, "response_seconds": 1200.0, "warn_at": None}

    def clock(i: int) -> dict[str, Any]:
        at = received_at(i)
        values = dict(running) if i >= first_open else {**met, "assigned_at": at, "started_at": at,
                                                          "due_at": at + timedelta(hours=24),
                                                          "responded_at": at + timedelta(minutes=20)}
        return {**values, "clock_id": str(uuid.UUID(int=i + 1)), "lead_id": _lead_id(i), "partition": i % 6,
                "assignment_event_id": f"hist-assigned-{i}", "team": "na", "rep_id": REPS[i % len(REPS)],
                "urgency": "warm", "source": "web_form", "campaign": None,
                "lead": {"name": "Hist", "company": f"Hist {i % 5000}", "source": "web_form", "campaign": None},
                "policy": policy_json, "policy_version": 1, "escalation_level": 0, "touches": 0 if i >= first_open
                else 1, "gap_alerted": False, "history": [], "version": i + 1}

    await asyncio.gather(
        _fill(database_urls["intake"], "intake", intake_tables.leads, intake_row, leads),
        _fill(database_urls["router"], "router", router_tables.leads, router_lead, leads),
        _fill(database_urls["sla-monitor"], "sla_monitor", _clocks_table(), clock, leads),
    )
    await _fill(database_urls["router"], "router", router_tables.assignments, assignment, leads)
    return {"leads": leads, "open": open_leads, "seed_seconds": round(time.monotonic() - started, 1)}


def _clocks_table() -> Table:
    from sla_monitor import tables as sla_tables
    return sla_tables.clocks
