"""CRM activity events: ``activity.recorded``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared import topics
from shared.events.envelope import EventData

ActivityType = Literal["call", "email", "meeting", "sms", "note", "status_change"]
Direction = Literal["outbound", "inbound"]

#: Activity types that count as a touch when outbound.
TOUCH_TYPES = frozenset({"call", "email", "meeting", "sms"})


class ActivityRecorded(EventData):
    event_type: ClassVar[str] = "activity.recorded"
    topic: ClassVar[str] = topics.LEADS_ACTIVITY

    activity_id: str
    type: ActivityType
    direction: Direction | None = None
    rep_id: str | None = None
    occurred_at: datetime
    outcome: str | None = None
    status: str | None = None
    received_at: datetime

    @property
    def is_outbound_touch(self) -> bool:
        return self.type in TOUCH_TYPES and self.direction == "outbound"
