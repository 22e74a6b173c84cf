"""Lead events: ``lead.received`` and ``lead.assigned``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import topics
from shared.events import limits
from shared.events.crm import ExternalIds
from shared.events.envelope import EventData
from shared.events.reps import AssignedRep

Urgency = Literal["hot", "warm", "cold"]

#: Lead sources with a name of their own in metrics; any other ``source`` is counted as ``other`` (a metric
#: label must stay a small, bounded set, whatever callers send).
KNOWN_SOURCES = frozenset({
    "web_form", "badge_scan", "webinar", "referral", "event", "partner", "content_download", "chat",
    "email", "phone", "list_upload", "api", "google_ads", "meta", "linkedin", "typeform", "tally",
    "zuddl", "hubspot", "salesforce", "pipedrive", "close",
})


def source_label(source: str | None) -> str:
    """``source`` when it is one of ``KNOWN_SOURCES``, else ``other``: bounded, for metric labels."""
    return source if source in KNOWN_SOURCES else "other"
AssignmentReason = Literal["initial", "reassigned"]


class LeadFields(BaseModel):
    """A normalized lead as intake accepted it (every field already cleaned)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: Annotated[str | None, Field(max_length=limits.MAX_EMAIL)] = None
    phone: Annotated[str | None, Field(max_length=limits.MAX_PHONE)] = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    industry: str | None = None
    employees: int | None = None
    source: Annotated[str, Field(max_length=limits.MAX_SLUG)]
    intent: str | None = None
    campaign: Annotated[str | None, Field(max_length=limits.MAX_TEXT)] = None
    event: str | None = None
    captured_at: datetime | None = None
    notes: str | None = None
    external_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    #: CRM name -> that CRM's id for this person (given at intake; more are learned through ``lead.linked``).
    external_ids: ExternalIds = Field(default_factory=dict)


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
    source: Annotated[str | None, Field(max_length=limits.MAX_SLUG)] = None
    campaign: Annotated[str | None, Field(max_length=limits.MAX_TEXT)] = None
    received_at: datetime | None = None
    captured_at: datetime | None = None

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None


class LeadContact(BaseModel):
    """How the lead can be reached and what a CRM record of them holds, carried with the assignment so the SLA
    monitor can write the owner to the CRMs and tell the rep (never logged: these are the lead's own data)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: Annotated[str | None, Field(max_length=limits.MAX_EMAIL)] = None
    phone: Annotated[str | None, Field(max_length=limits.MAX_PHONE)] = None
    title: Annotated[str | None, Field(max_length=limits.MAX_TEXT)] = None
    country: Annotated[str | None, Field(max_length=limits.MAX_TEXT)] = None
    region: Annotated[str | None, Field(max_length=limits.MAX_TEXT)] = None
    postal_code: Annotated[str | None, Field(max_length=limits.MAX_POSTAL_CODE)] = None
    industry: Annotated[str | None, Field(max_length=limits.MAX_SLUG)] = None
    employees: int | None = None
    #: The lead's ids in the CRMs as known when it was routed (the SLA monitor adds those learned since).
    external_ids: ExternalIds = Field(default_factory=dict)


class LeadAssigned(EventData):
    event_type: ClassVar[str] = "lead.assigned"
    topic: ClassVar[str] = topics.LEADS_ASSIGNED

    team: Annotated[str, Field(max_length=limits.MAX_TEAM_ID)]
    rep_id: Annotated[str | None, Field(max_length=limits.MAX_REP_ID)]
    urgency: Urgency
    rule_id: Annotated[str | None, Field(max_length=limits.MAX_RULE_ID)]
    explanation: list[str]
    assigned_at: datetime
    reason: AssignmentReason = "initial"
    config_version: int | None = None
    lead: LeadSummary = LeadSummary()
    #: The rep's name, Slack member id and CRM user ids from the routing document (absent before they existed,
    #: and when nobody was assigned).
    rep: AssignedRep | None = None
    #: The lead's contact details for CRM write-backs and the rep's email (absent on events from before).
    contact: LeadContact | None = None
