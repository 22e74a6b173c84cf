"""Accepting a lead from a lead source: map, validate, store (lead + ``lead.received`` in the outbox) and remember
the provider's id, so that the provider's retry of the same lead has no second effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import tables
from intake.leads import accept_lead
from intake.normalize import LeadSubmission
from intake.sources.mapping import SourceMapping, bounded_notes, lead_values
from intake.sources.submission import SourceAnswer, SourceLeadInvalid, SourceSubmission
from shared.events import LeadFields, limits
from shared.http import field_errors

__all__ = ["SourceAnswer", "SourceLeadInvalid", "SourceMapping", "SourceSubmission", "accept_source_lead",
           "known_lead_id", "source_lead"]

#: Fields whose problems no move to the notes can solve; any other field that fails validation (even an email,
#: when there is a phone) is kept in the notes instead.
_ESSENTIAL = frozenset({"source", "captured_at", "body"})


async def accept_source_lead(session: AsyncSession, submission: SourceSubmission, *, mapping: SourceMapping,
                             now: datetime, duplicate_lookback: timedelta,
                             lead_id: str | None = None) -> tuple[str, bool]:
    """Map, validate with LeadSubmission, store (leads + outbox via intake.leads.accept_lead) and remember
    (provider, provider_lead_id) -> lead_id; return (lead_id, is_new). A repeat returns the first lead_id,
    is_new=False. Caller commits. ``lead_id``: the id promised for this lead before it was fetched (Meta,
    LinkedIn), else a new one.

    A concurrent first delivery of the same lead makes the insert into ``source_leads`` fail (IntegrityError):
    the caller rolls back and answers ``known_lead_id``."""
    if len(submission.provider_lead_id) > limits.MAX_SOURCE_LEAD_ID or not submission.provider_lead_id:
        raise SourceLeadInvalid([{"field": "provider_lead_id", "message":
                                  f"The provider's lead id must be 1 to {limits.MAX_SOURCE_LEAD_ID} characters."}])
    known = await known_lead_id(session, submission.provider, submission.provider_lead_id)
    if known is not None:
        return known, False
    lead = source_lead(submission, mapping=mapping, now=now)
    accepted = await accept_lead(session, lead, submitted_by=submission.provider, now=now,
                                 duplicate_lookback=duplicate_lookback, lead_id=lead_id)
    await session.execute(insert(tables.source_leads).values(
        provider=submission.provider, provider_lead_id=submission.provider_lead_id, lead_id=accepted.lead_id,
        received_at=now))
    return accepted.lead_id, True


async def known_lead_id(session: AsyncSession, provider: str, provider_lead_id: str) -> str | None:
    """The lead_id stored for this provider's lead, if it was received before."""
    row = (await session.execute(
        select(tables.source_leads.c.lead_id).where(tables.source_leads.c.provider == provider,
                                                    tables.source_leads.c.provider_lead_id == provider_lead_id)
    )).first()
    return row.lead_id if row is not None else None


def source_lead(submission: SourceSubmission, *, mapping: SourceMapping, now: datetime) -> LeadFields:
    """The validated lead of ``submission``, or ``SourceLeadInvalid`` naming the fields (never their values).

    ``captured_at`` is the provider's submit time. A submit time later than ``now`` (the provider's clock runs
    ahead of ours) is clamped to ``now`` rather than refused: the provider has already shown the person a
    confirmation, and a refusal would lose the lead. A value that fails validation in an optional field (a
    country no one can read, a company longer than 255 characters) is moved to the notes, so the lead still
    arrives; a lead without a usable email or phone is refused."""
    values = lead_values(submission, mapping)
    if submission.submitted_at is not None:
        submitted = submission.submitted_at
        submitted = submitted.replace(tzinfo=UTC) if submitted.tzinfo is None else submitted
        values["captured_at"] = min(submitted, now)
    try:
        return _validated(values)
    except ValidationError as exc:
        errors = field_errors(exc)
    fields = {e["field"] for e in errors}
    if fields & _ESSENTIAL:
        raise SourceLeadInvalid(errors)
    lines = [values["notes"]] if values.get("notes") else []
    lines += [f"{name}: {values.pop(name)}" for name in sorted(fields) if name in values]
    values["notes"] = bounded_notes(lines)
    try:
        return _validated(values)
    except ValidationError:
        # Still no lead (an unreadable email and no phone): the first problems are the ones to fix.
        raise SourceLeadInvalid(errors) from None


def _validated(values: dict[str, Any]) -> LeadFields:
    return LeadSubmission.model_validate(values).to_fields()
