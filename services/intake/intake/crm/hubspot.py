"""HubSpot webhooks: signature v3, and the events of a batch mapped onto CRM activities. Pure, no I/O.

Signature v3 (HubSpot "Validating requests"): ``X-HubSpot-Signature-v3`` is the base64 HMAC-SHA256, keyed with
the app's client secret, of ``method + URI + raw body + X-HubSpot-Request-Timestamp`` (UTF-8), where the URI is
the one HubSpot called with a fixed set of percent-escapes decoded; the timestamp is in milliseconds and a
request older than 5 minutes is refused.

Mapping (README "Integrations" → "HubSpot"):

- ``contact.propertyChange`` (or the generic ``object.propertyChange`` of a contact, ``0-1``) of
  ``notes_last_contacted``: an outbound touch at the time the property holds. HubSpot sets "Last contacted"
  when a call, a sales email or a meeting is logged on the contact and does not say which; it is recorded
  as a ``call`` whose ``outcome`` is ``notes_last_contacted`` so it can be told from a real logged call.
- the same of ``hubspot_owner_id``: a ``status_change`` with status ``owner_changed``; ``rep_id`` and
  ``outcome`` hold the new owner id (empty when the owner was removed).
- ``object.creation`` of a call (``0-48``), email (``0-49``) or meeting (``0-47``): an ``EngagementCreated``
  the route resolves through HubSpot's API (the associated contacts and the engagement's direction and time),
  then ``engagement_activities`` maps it.
- anything else is acknowledged and skipped; a malformed event is rejected alone, the batch goes on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from intake.crm import Skipped
from intake.identity import CrmActivity
from shared.events import limits
from shared.events.activities import ActivityType, Direction

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
TOLERANCE_MS = 5 * 60 * 1000
#: HubSpot sends at most 100 events per request; 1 MiB holds 100 events with room to spare (one is ~400 bytes).
MAX_EVENTS = 100
MAX_BODY_BYTES = 1024 * 1024

LAST_CONTACTED = "notes_last_contacted"
OWNER = "hubspot_owner_id"
CONTACT_TYPE_ID = "0-1"
EngagementType = Literal["calls", "emails", "meetings"]
#: objectTypeId of the engagements whose creation is a touch -> the objects API's name for them.
ENGAGEMENT_TYPES: dict[str, EngagementType] = {"0-48": "calls", "0-49": "emails", "0-47": "meetings"}
#: The properties read from the objects API, per engagement type.
ENGAGEMENT_PROPERTIES: dict[EngagementType, tuple[str, ...]] = {
    "calls": ("hs_timestamp", "hs_call_direction", "hs_call_disposition", "hubspot_owner_id"),
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_status", "hubspot_owner_id"),
    "meetings": ("hs_timestamp", "hs_meeting_outcome", "hs_meeting_source", "hubspot_owner_id"),
}
#: The percent-escapes HubSpot decodes in the URI before signing (and only these).
_DECODED = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
            "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)


class SignatureRejected(Exception):
    """The request is not signed with the client secret, or its timestamp is missing or stale."""


def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: only the escapes of ``: / ? @ ! $ ' ( ) * , ;`` decoded."""
    return _ESCAPE.sub(lambda match: _DECODED[match.group(0).upper()], uri)


def signature(secret: str, *, method: str, uri: str, body: bytes, timestamp: str) -> str:
    source = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def verify(secret: str, *, method: str, uri: str, body: bytes, timestamp: str | None, given: str | None,
           now_ms: int) -> None:
    """Raise ``SignatureRejected`` unless ``given`` is the v3 signature of this request and the timestamp is
    within 5 minutes of ``now_ms`` (either side: a timestamp from the future is refused like a stale one)."""
    if not timestamp or not given:
        raise SignatureRejected(f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are both required.")
    if not timestamp.isdigit() or len(timestamp) > 15:
        raise SignatureRejected(f"{TIMESTAMP_HEADER} must be milliseconds since the epoch.")
    if abs(now_ms - int(timestamp)) > TOLERANCE_MS:
        raise SignatureRejected(f"{TIMESTAMP_HEADER} is more than 5 minutes away from the server's clock.")
    expected = signature(secret, method=method, uri=uri, body=body, timestamp=timestamp)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureRejected(f"{SIGNATURE_HEADER} does not match the request.")


@dataclass(frozen=True)
class EngagementCreated:
    """A call, email or meeting was created; its contacts, direction and time come from HubSpot's API."""

    object_type: EngagementType
    object_id: str
    portal_id: str
    occurred_at: datetime

    def activity_id(self, contact_id: str) -> str:
        """One activity per engagement and contact (an email to three contacts touches all three)."""
        return _bounded(f"hubspot:{self.portal_id}:{self.object_type}:{self.object_id}:contact:{contact_id}")


@dataclass(frozen=True)
class Rejected:
    """A malformed event; the rest of the batch is recorded."""

    index: int
    message: str


Parsed = CrmActivity | EngagementCreated | Skipped | Rejected


class BadEvent(ValueError):
    pass


def parse_batch(events: Sequence[Any]) -> list[Parsed]:
    """Each event of a batch, mapped on its own: one bad event never costs the others."""
    parsed: list[Parsed] = []
    for index, event in enumerate(events):
        try:
            parsed.append(parse_event(event))
        except BadEvent as exc:
            parsed.append(Rejected(index, str(exc)))
    return parsed


def parse_event(event: Any) -> CrmActivity | EngagementCreated | Skipped:
    if not isinstance(event, Mapping):
        raise BadEvent("An event must be a JSON object.")
    kind = _text(event, "subscriptionType", required=False) or _text(event, "eventType", required=False)
    if not kind:
        raise BadEvent("subscriptionType is missing.")
    type_id = _text(event, "objectTypeId", required=False)
    if kind == "contact.propertyChange" or (kind == "object.propertyChange" and type_id == CONTACT_TYPE_ID):
        return _contact_property_change(event)
    if kind == "object.creation" and type_id in ENGAGEMENT_TYPES:
        return EngagementCreated(object_type=ENGAGEMENT_TYPES[type_id], object_id=_id(event, "objectId"),
                                 portal_id=_id(event, "portalId"), occurred_at=_occurred_at(event))
    return Skipped(kind[:64], f"{kind[:64]} is not an event leadrouter records.")


def _contact_property_change(event: Mapping[str, Any]) -> CrmActivity | Skipped:
    prop = _text(event, "propertyName", required=True) or ""
    if prop not in (LAST_CONTACTED, OWNER):
        return Skipped(f"contact.propertyChange:{prop[:64]}", f"A change of {prop[:64]} is not recorded.")
    contact_id, portal_id, occurred_at = _id(event, "objectId"), _id(event, "portalId"), _occurred_at(event)
    raw_occurred = str(event["occurredAt"])
    activity_id = _bounded(f"hubspot:{portal_id}:contact:{contact_id}:{prop}:{raw_occurred}")
    value = event.get("propertyValue")
    value = "" if value is None else str(value).strip()
    if prop == LAST_CONTACTED:
        if not value and "propertyValue" in event:
            return Skipped(activity_id, "notes_last_contacted was cleared.")
        touched_at = _time(value) if value else None
        return CrmActivity(crm="hubspot", external_id=contact_id, activity_id=activity_id, type="call",
                           direction="outbound", occurred_at=touched_at or occurred_at, outcome=LAST_CONTACTED)
    owner = value[: limits.MAX_REP_ID] or None
    return CrmActivity(crm="hubspot", external_id=contact_id, activity_id=activity_id, type="status_change",
                       direction=None, occurred_at=occurred_at, rep_id=owner, outcome=owner,
                       status="owner_changed")


def engagement_activities(created: EngagementCreated, contact_ids: Sequence[str],
                          properties: Mapping[str, Any]) -> list[CrmActivity] | Skipped:
    """The activities of a created engagement, one per associated contact, from its objects-API properties.

    Calls: ``hs_call_direction`` ``OUTBOUND`` (or none, as on a call logged by hand) is outbound, ``INBOUND``
    inbound. Emails: ``hs_email_direction`` ``EMAIL`` (sent by the rep) is outbound, ``INCOMING_EMAIL`` (the
    contact's reply) inbound and so no touch; a forwarded or unknown one is skipped. Meetings are outbound (the
    rep met the contact) unless booked by the contact on a scheduling page (``hs_meeting_source``
    ``MEETINGS_PUBLIC``). The time is ``hs_timestamp``, else the event's ``occurredAt``."""
    key = f"hubspot:{created.portal_id}:{created.object_type}:{created.object_id}"
    if not contact_ids:
        return Skipped(key, f"The {created.object_type} is associated with no contact.")
    kind: ActivityType
    direction: Direction
    outcome: str | None
    if created.object_type == "calls":
        kind, raw = "call", str(properties.get("hs_call_direction") or "OUTBOUND").upper()
        if raw not in ("OUTBOUND", "INBOUND"):
            return Skipped(key, f"A call with direction {raw[:32]!r} is not recorded.")
        direction = "outbound" if raw == "OUTBOUND" else "inbound"
        outcome = properties.get("hs_call_disposition")
    elif created.object_type == "emails":
        kind, raw = "email", str(properties.get("hs_email_direction") or "").upper()
        if raw not in ("EMAIL", "INCOMING_EMAIL"):
            return Skipped(key, f"An email with direction {raw[:32]!r} is not recorded.")
        direction = "outbound" if raw == "EMAIL" else "inbound"
        outcome = properties.get("hs_email_status")
    else:
        kind = "meeting"
        source = str(properties.get("hs_meeting_source") or "").upper()
        direction = "inbound" if source == "MEETINGS_PUBLIC" else "outbound"
        outcome = properties.get("hs_meeting_outcome")
    occurred_at = _time(str(properties.get("hs_timestamp") or "")) or created.occurred_at
    owner = str(properties.get("hubspot_owner_id") or "")[: limits.MAX_REP_ID] or None
    outcome = str(outcome)[: limits.MAX_OUTCOME] if outcome else None
    return [CrmActivity(crm="hubspot", external_id=contact_id, activity_id=created.activity_id(contact_id),
                        type=kind, direction=direction, occurred_at=occurred_at, rep_id=owner, outcome=outcome)
            for contact_id in contact_ids]


def _text(event: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = event.get(name)
    if value is None or value == "":
        if required:
            raise BadEvent(f"{name} is missing.")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadEvent(f"{name} must be a string.")
    return str(value)


def _id(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str) or not re.fullmatch(r"\d{1,20}", str(value)):
        raise BadEvent(f"{name} must be HubSpot's numeric id.")
    return str(value)


def _occurred_at(event: Mapping[str, Any]) -> datetime:
    value = event.get("occurredAt")
    moment = _epoch_ms(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if moment is None:
        raise BadEvent("occurredAt must be milliseconds since the epoch.")
    return moment


def _time(value: str) -> datetime | None:
    """A HubSpot datetime value: epoch milliseconds (webhooks) or ISO 8601 (the objects API); None if neither."""
    if value.isdigit():
        return _epoch_ms(int(value))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _epoch_ms(value: int) -> datetime | None:
    # Year 2000 to 2200: anything else is no timestamp HubSpot sends.
    if not 946_684_800_000 <= value <= 7_258_118_400_000:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _bounded(activity_id: str) -> str:
    if len(activity_id) > limits.MAX_ACTIVITY_ID:
        raise BadEvent("The event's ids are too long to be HubSpot's.")
    return activity_id
