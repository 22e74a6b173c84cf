"""Accepting leads: dedupe against earlier leads, store, and queue ``lead.received`` in one transaction."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import EVENT_SOURCE, tables
from intake.identity import external_ids_of, link_external_ids
from shared.events import CloudEvent, LeadFields, LeadReceived
from shared.outbox import insert_outbox_rows, outbox_row


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
                      duplicate_lookback: timedelta, lead_id: str | None = None) -> AcceptedLead:
    """Store a normalized lead and its ``lead.received`` event; the caller commits."""
    duplicate_of = await find_original(session, lead, since=now - duplicate_lookback)
    row, outbox, accepted = _prepared(lead, duplicate_of=duplicate_of, submitted_by=submitted_by, now=now,
                                      lead_id=lead_id)
    await session.execute(insert(tables.leads).values(**row))
    await insert_outbox_rows(session, tables.outbox, [outbox])
    await link_external_ids(session, accepted.lead_id, lead.external_ids, now=now)
    return accepted


#: Leads of a batch stored per statement; between chunks the event loop serves other requests.
BATCH_CHUNK = 500


async def accept_leads(session: AsyncSession, leads: Sequence[LeadFields], *, submitted_by: str | Sequence[str],
                       now: datetime, duplicate_lookback: timedelta) -> list[AcceptedLead]:
    """Store many leads and their events (a batch upload, or a group of posts committed together), a chunk per
    statement; the caller commits. ``submitted_by`` is one client for all, or one per lead.

    A lead is a duplicate of the first earlier lead with its email or phone, or else of the first lead of the
    same batch with one of them. The CPU-heavy part (building rows and events) runs in a worker thread so the
    event loop stays free for other requests.
    """
    accepted: list[AcceptedLead] = []
    in_batch: dict[str, str] = {}  # "email:<email>" / "phone:<phone>" -> lead_id of its first lead in the batch
    clients = [submitted_by] * len(leads) if isinstance(submitted_by, str) else list(submitted_by)
    for start in range(0, len(leads), BATCH_CHUNK):
        chunk = leads[start:start + BATCH_CHUNK]
        earlier = await _originals(session, chunk, since=now - duplicate_lookback)
        prepare = functools.partial(_prepare_chunk, chunk, earlier=earlier, in_batch=in_batch,
                                    submitted_by=clients[start:start + BATCH_CHUNK], now=now)
        # A big chunk's CPU work goes to a thread so the event loop keeps serving; a small one is not worth it.
        rows, outbox, answers = await asyncio.to_thread(prepare) if len(chunk) > 50 else prepare()
        await session.execute(_INSERT_LEADS, rows)
        await insert_outbox_rows(session, tables.outbox, outbox)
        for lead, answer in zip(chunk, answers, strict=True):
            await link_external_ids(session, answer.lead_id, lead.external_ids, now=now)
        accepted.extend(answers)
    return accepted


def _earlier(*, emails: bool, phones: bool) -> Any:
    """Leads received since ``since`` with one of ``emails`` or ``phones``, oldest first."""
    leads = tables.leads
    matches = ([leads.c.email.in_(bindparam("emails", expanding=True))] if emails else []) + (
        [leads.c.phone.in_(bindparam("phones", expanding=True))] if phones else [])
    return (select(leads.c.lead_id, leads.c.duplicate_of, leads.c.email, leads.c.phone)
            .where(or_(*matches), leads.c.received_at >= bindparam("since"))
            .order_by(leads.c.received_at, leads.c.lead_id))


# Every accepted lead runs these: built once, they skip SQLAlchemy's statement building and cache-key walk on each
# call (about half of a simple statement's CPU).
_EARLIER = {(e, p): _earlier(emails=e, phones=p) for e in (False, True) for p in (False, True) if e or p}
_INSERT_LEADS = insert(tables.leads)


def _contacts(lead: LeadFields) -> list[str]:
    return ([f"email:{lead.email}"] if lead.email else []) + ([f"phone:{lead.phone}"] if lead.phone else [])


async def _originals(session: AsyncSession, leads: Sequence[LeadFields], *, since: datetime) -> dict[str, str]:
    """``{contact: original lead_id}`` for each email and phone of ``leads`` seen since ``since``: the first lead
    with it (following that lead's own ``duplicate_of``)."""
    emails = sorted({lead.email for lead in leads if lead.email})
    phones = sorted({lead.phone for lead in leads if lead.phone})
    if not emails and not phones:
        return {}
    query = _EARLIER[(bool(emails), bool(phones))]
    found = await session.execute(query, {"emails": emails, "phones": phones, "since": since})
    originals: dict[str, str] = {}
    for row in found:
        for contact in (f"email:{row.email}" if row.email else None, f"phone:{row.phone}" if row.phone else None):
            if contact is not None:
                originals.setdefault(contact, row.duplicate_of or row.lead_id)
    return originals


def _prepare_chunk(leads: Sequence[LeadFields], *, earlier: dict[str, str], in_batch: dict[str, str],
                   submitted_by: Sequence[str], now: datetime,
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[AcceptedLead]]:
    rows, outbox, answers = [], [], []
    for lead, client in zip(leads, submitted_by, strict=True):
        contacts = _contacts(lead)
        duplicate_of = next((earlier[c] for c in contacts if c in earlier), None) \
            or next((in_batch[c] for c in contacts if c in in_batch), None)
        row, event, accepted = _prepared(lead, duplicate_of=duplicate_of, submitted_by=client, now=now)
        for contact in contacts:
            in_batch.setdefault(contact, duplicate_of or accepted.lead_id)
        rows.append(row)
        outbox.append(event)
        answers.append(accepted)
    return rows, outbox, answers


def _prepared(lead: LeadFields, *, duplicate_of: str | None, submitted_by: str, now: datetime,
              lead_id: str | None = None,
              ) -> tuple[dict[str, Any], dict[str, Any], AcceptedLead]:
    """The ``leads`` row, the outbox row of its ``lead.received`` and the answer, for a lead about to be stored."""
    lead_id = lead_id or str(uuid.uuid4())
    event_data = LeadReceived(**lead.model_dump(), lead_id=lead_id, received_at=now, duplicate_of=duplicate_of)
    row = {"lead_id": lead_id, "email": lead.email, "phone": lead.phone, "source": lead.source,
           "submitted_by": submitted_by, "data": lead.model_dump(mode="json"), "duplicate_of": duplicate_of,
           "received_at": now}
    event = outbox_row(CloudEvent.wrap(event_data, source=EVENT_SOURCE, time=now))
    return row, event, AcceptedLead(lead_id=lead_id, duplicate_of=duplicate_of)


async def get_lead(session: AsyncSession, lead_id: str) -> dict[str, Any] | None:
    """The lead as accepted (normalized), with ``lead_id``, ``received_at`` and ``duplicate_of``."""
    row = (await session.execute(select(tables.leads).where(tables.leads.c.lead_id == lead_id))).first()
    if row is None:
        return None
    external_ids = {**row.data.get("external_ids", {}), **await external_ids_of(session, lead_id)}
    return {"lead_id": row.lead_id, **row.data, "external_ids": external_ids,
            "received_at": row.received_at.isoformat(), "duplicate_of": row.duplicate_of}


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
