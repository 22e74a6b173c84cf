"""Lead events: ``lead.received`` and ``lead.assigned``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from shared import topics
from shared.events.envelope import EventData

Urgency = Literal["hot", "warm", "cold"]
AssignmentReason = Literal["initial", "reassigned"]


class LeadFields(BaseModel):
    """A normalized lead as intake accepted it (every field already cleaned)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    industry: str | None = None
    employees: int | None = None
    source: str
    intent: str | None = None
    campaign: str | None = None
    event: str | None = None
    captured_at: datetime | None = None
    notes: str | None = None
    external_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


class LeadReceived(LeadFields, EventData):
    event_type: ClassVar[str] = "lead.received"
    topic: ClassVar[str] = topics.LEADS_RECEIVED

    received_at: datetime
    duplicate_of: str | None = None


class LeadSummary(BaseModel):
    """What alerts and reports need to say about a lead, carried along with its assignment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    source: str | None = None
    campaign: str | None = None
    received_at: datetime | None = None
    captured_at: datetime | None = None

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None


class LeadAssigned(EventData):
    event_type: ClassVar[str] = "lead.assigned"
    topic: ClassVar[str] = topics.LEADS_ASSIGNED

    team: str
    rep_id: str | None
    urgency: Urgency
    rule_id: str | None
    explanation: list[str]
    assigned_at: datetime
    reason: AssignmentReason = "initial"
    config_version: int | None = None
    lead: LeadSummary = LeadSummary()
