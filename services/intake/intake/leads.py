"""Accepting leads: dedupe against earlier leads, store, and queue ``lead.received`` in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import tables
from shared.events import CloudEvent, LeadFields, LeadReceived
from shared.outbox import add_to_outbox

EVENT_SOURCE = "leadrouter/intake"


@dataclass(frozen=True)
class AcceptedLead:
    lead_id: str
    duplicate_of: str | None

    def answer(self) -> dict[str, Any]:
        return {"lead_id": self.lead_id, "status": "accepted", "duplicate_of": self.duplicate_of}


async def find_original(session: AsyncSession, lead: LeadFields, *, since: datetime) -> str | None:
    """The first lead since ``since`` with the same email or phone (following its own ``duplicate_of``)."""
    same_contact = []
    if lead.email:
        same_contact.append(tables.leads.c.email == lead.email)
    if lead.phone:
        same_contact.append(tables.leads.c.phone == lead.phone)
    found = (await session.execute(
        select(tables.leads.c.lead_id, tables.leads.c.duplicate_of)
        .where(or_(*same_contact), tables.leads.c.received_at >= since)
        .order_by(tables.leads.c.received_at, tables.leads.c.lead_id)
        .limit(1)
    )).first()
    if found is None:
        return None
    return found.duplicate_of or found.lead_id


async def accept_lead(session: AsyncSession, lead: LeadFields, *, submitted_by: str, now: datetime,
                      duplicate_lookback: timedelta) -> AcceptedLead:
    """Store a normalized lead and its ``lead.received`` event; the caller commits."""
    lead_id = str(uuid.uuid4())
    duplicate_of = await find_original(session, lead, since=now - duplicate_lookback)
    event_data = LeadReceived(**lead.model_dump(), lead_id=lead_id, received_at=now, duplicate_of=duplicate_of)
    await session.execute(insert(tables.leads).values(
        lead_id=lead_id, email=lead.email, phone=lead.phone, source=lead.source, submitted_by=submitted_by,
        data=lead.model_dump(mode="json"), duplicate_of=duplicate_of, received_at=now,
    ))
    await add_to_outbox(session, tables.outbox, CloudEvent.wrap(event_data, source=EVENT_SOURCE, time=now))
    return AcceptedLead(lead_id=lead_id, duplicate_of=duplicate_of)


async def get_lead(session: AsyncSession, lead_id: str) -> dict[str, Any] | None:
    """The lead as accepted (normalized), with ``lead_id``, ``received_at`` and ``duplicate_of``."""
    row = (await session.execute(select(tables.leads).where(tables.leads.c.lead_id == lead_id))).first()
    if row is None:
        return None
    return {"lead_id": row.lead_id, **row.data, "received_at": row.received_at.isoformat(),
            "duplicate_of": row.duplicate_of}


async def lead_id_for_email(session: AsyncSession, email: str) -> str | None:
    """The most recent lead with this email, or None."""
    row = (await session.execute(
        select(tables.leads.c.lead_id).where(tables.leads.c.email == email.strip().lower())
        .order_by(tables.leads.c.received_at.desc()).limit(1)
    )).first()
    return row.lead_id if row else None


async def lead_exists(session: AsyncSession, lead_id: str) -> bool:
    row = (await session.execute(select(tables.leads.c.lead_id).where(tables.leads.c.lead_id == lead_id))).first()
    return row is not None
