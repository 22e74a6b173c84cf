"""SLA events on ``sla.alerts``: ``sla.warning``, ``sla.breached``, ``sla.met``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal, get_args

from shared import topics
from shared.events.envelope import EventData
from shared.events.leads import LeadAssigned, Urgency


class SlaAlertData(EventData):
    """What ops needs to act on a late lead: who owns it, when it was due, and who the lead is."""

    topic: ClassVar[str] = topics.SLA_ALERTS

    clock_id: str
    rep_id: str | None
    team: str
    urgency: Urgency
    policy: str
    due_at: datetime
    level: int = 1
    lead_name: str | None = None
    company: str | None = None
    source: str | None = None
    campaign: str | None = None


class SlaWarning(SlaAlertData):
    event_type: ClassVar[str] = "sla.warning"


class SlaBreached(SlaAlertData):
    event_type: ClassVar[str] = "sla.breached"


class SlaMet(EventData):
    event_type: ClassVar[str] = "sla.met"
    topic: ClassVar[str] = topics.SLA_ALERTS

    clock_id: str
    rep_id: str | None
    team: str
    urgency: Urgency
    response_seconds: float


class ReassignmentRequested(EventData):
    """The SLA monitor asks the router to give a lead to another rep (escalation); the router answers with
    ``lead.assigned`` and ``reason: reassigned``."""

    event_type: ClassVar[str] = "lead.reassignment_requested"
    topic: ClassVar[str] = topics.SLA_ALERTS

    clock_id: str
    team: str
    current_rep_id: str | None
    level: int
    reason: str


class LeadRecycled(EventData):
    """A follow-up cadence ended with no reply: the lead goes back to nurture instead of being dropped."""

    event_type: ClassVar[str] = "lead.recycled"
    topic: ClassVar[str] = topics.SLA_ALERTS

    rep_id: str | None
    team: str
    touches: int
    reason: str


class SubscriptionDisabled(EventData):
    """A webhook subscription failed too many times in a row and was switched off.

    ``lead_id`` is the lead of the delivery that failed last.
    """

    event_type: ClassVar[str] = "subscription.disabled"
    topic: ClassVar[str] = topics.SLA_ALERTS

    subscription_id: str
    url: str
    consecutive_failures: int


#: The events a webhook subscription can ask for.
SubscribableEventType = Literal["sla.warning", "sla.breached", "sla.met", "lead.recycled", "subscription.disabled",
                                "lead.assigned"]
SUBSCRIBABLE_EVENT_TYPES: tuple[str, ...] = get_args(SubscribableEventType)
assert set(SUBSCRIBABLE_EVENT_TYPES) == {m.event_type for m in (SlaWarning, SlaBreached, SlaMet, LeadRecycled,
                                                                 SubscriptionDisabled, LeadAssigned)}
