"""CRM activities: validate, resolve the lead, dedupe by ``activity_id``, store and queue ``activity.recorded``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import tables
from intake.activity_store import store_activity
from intake.leads import lead_exists, lead_id_for_email
from shared.events import ActivityRecorded, limits
from shared.events.activities import TOUCH_TYPES, ActivityType, Direction


def _optional(max_length: int) -> Any:
    return Field(default=None, max_length=max_length)


class ActivitySubmission(BaseModel):
    """One CRM activity as posted by the CRM webhook."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    activity_id: Annotated[str, Field(min_length=1, max_length=limits.MAX_ACTIVITY_ID)]
    lead_id: Annotated[str | None, _optional(limits.MAX_LEAD_ID)]
    email: Annotated[str | None, _optional(limits.MAX_EMAIL)]
    type: ActivityType
    direction: Direction | None = None
    rep_id: Annotated[str | None, _optional(limits.MAX_REP_ID)]
    occurred_at: datetime
    outcome: Annotated[str | None, _optional(limits.MAX_OUTCOME)]
    status: Annotated[str | None, _optional(limits.MAX_STATUS)]

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("Give occurred_at with a UTC offset, e.g. 2026-11-25T09:30:00Z.")
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("occurred_at is out of range.") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ActivitySubmission:
        if not self.lead_id and not self.email:
            raise ValueError("An activity needs lead_id or email to find its lead.")
        if self.type == "status_change" and not self.status:
            raise ValueError("A status_change activity needs a status.")
        if self.type in TOUCH_TYPES and self.direction is None:
            raise ValueError(f"A {self.type} activity needs a direction: outbound or inbound.")
        return self


class UnknownLead(Exception):
    """The activity names a lead intake never accepted."""


async def record_activity(session: AsyncSession, activity: ActivitySubmission, *, now: datetime) -> tuple[str, bool]:
    """Store the activity and its event; return ``(lead_id, is_new)``. A known ``activity_id`` changes nothing."""
    existing = (await session.execute(
        select(tables.activities.c.lead_id).where(tables.activities.c.activity_id == activity.activity_id)
    )).first()
    if existing is not None:
        return existing.lead_id, False
    if activity.lead_id:
        if not await lead_exists(session, activity.lead_id):
            raise UnknownLead(f"lead_id: no lead with id {activity.lead_id!r} was received.")
        lead_id = activity.lead_id
    else:
        assert activity.email is not None
        found = await lead_id_for_email(session, activity.email)
        if found is None:
            raise UnknownLead("email: no lead with this email was received.")
        lead_id = found
    data = ActivityRecorded(
        lead_id=lead_id, activity_id=activity.activity_id, type=activity.type, direction=activity.direction,
        rep_id=activity.rep_id, occurred_at=activity.occurred_at, outcome=activity.outcome,
        status=activity.status, received_at=now,
    )
    await store_activity(session, data, now=now)
    return lead_id, True

