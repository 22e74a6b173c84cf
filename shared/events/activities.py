"""CRM activity events: ``activity.recorded``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shared import topics
from shared.events import limits
from shared.events.envelope import EventData

ActivityType = Literal["call", "email", "meeting", "sms", "note", "status_change"]
Direction = Literal["outbound", "inbound"]

#: Activity types that count as a touch when outbound.
TOUCH_TYPES = frozenset({"call", "email", "meeting", "sms"})


class ActivityRecorded(EventData):
    event_type: ClassVar[str] = "activity.recorded"
    topic: ClassVar[str] = topics.LEADS_ACTIVITY

    activity_id: Annotated[str, Field(max_length=limits.MAX_ACTIVITY_ID)]
    type: ActivityType
    direction: Direction | None = None
    rep_id: Annotated[str | None, Field(max_length=limits.MAX_REP_ID)] = None
    occurred_at: datetime
    outcome: Annotated[str | None, Field(max_length=limits.MAX_OUTCOME)] = None
    status: Annotated[str | None, Field(max_length=limits.MAX_STATUS)] = None
    received_at: datetime

    @property
    def is_outbound_touch(self) -> bool:
        return self.type in TOUCH_TYPES and self.direction == "outbound"
