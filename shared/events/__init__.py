"""Every event's contract, defined once. ``parse_data`` turns an envelope into its typed data."""

from __future__ import annotations

from shared.events.activities import TOUCH_TYPES, ActivityRecorded
from shared.events.crm import CRM_NAMES, CrmName, ExternalIds, LeadLinked
from shared.events.envelope import CloudEvent, EventData
from shared.events.leads import LeadAssigned, LeadContact, LeadFields, LeadReceived, LeadSummary, Urgency
from shared.events.reps import AssignedRep, RepCrmIds, is_slack_user_id
from shared.events.sla import (
    SUBSCRIBABLE_EVENT_TYPES,
    LeadRecycled,
    ReassignmentRequested,
    SlaAlertData,
    SlaBreached,
    SlaMet,
    SlaWarning,
    SubscribableEventType,
    SubscriptionDisabled,
)
from shared.events.upcasting import UnknownEventVersion, upcast
from shared.events.weekdays import WEEKDAYS, Weekday, weekday_of

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (LeadReceived, LeadAssigned, ActivityRecorded, SlaWarning, SlaBreached, SlaMet,
                  ReassignmentRequested, LeadRecycled, SubscriptionDisabled, LeadLinked)
}


class UnknownEventType(ValueError):
    pass


def parse_data(event: CloudEvent) -> EventData:
    """Validate an envelope's ``data`` against the model registered for its ``type``, after upcasting an
    older ``dataversion`` to the current one."""
    model = EVENT_TYPES.get(event.type)
    if model is None:
        raise UnknownEventType(f"No model is registered for event type {event.type!r}.")
    return model.model_validate(upcast(event.type, event.dataversion, event.data, current=model.data_version))


__all__ = [
    "AssignedRep",
    "RepCrmIds",
    "is_slack_user_id",
    "SUBSCRIBABLE_EVENT_TYPES",
    "WEEKDAYS",
    "SubscribableEventType",
    "Weekday",
    "weekday_of",
    "TOUCH_TYPES",
    "ActivityRecorded",
    "CRM_NAMES",
    "CrmName",
    "ExternalIds",
    "LeadLinked",
    "CloudEvent",
    "EVENT_TYPES",
    "EventData",
    "LeadAssigned",
    "LeadContact",
    "LeadFields",
    "LeadReceived",
    "LeadRecycled",
    "ReassignmentRequested",
    "LeadSummary",
    "SlaAlertData",
    "SlaBreached",
    "SlaMet",
    "SlaWarning",
    "SubscriptionDisabled",
    "UnknownEventType",
    "UnknownEventVersion",
    "Urgency",
    "parse_data",
    "upcast",
]
