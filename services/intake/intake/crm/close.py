"""Close webhooks: ``{"subscription_id": …, "event": {…}}``, one Event Log event per request, signed.

Signature (Close, "Webhook signatures"): ``close-sig-hash`` = hex HMAC-SHA256 keyed with the subscription's
``signature_key`` (hex, decoded to bytes) over ``close-sig-timestamp`` + the raw body. A timestamp more than
the tolerance away from now is refused as a replay.

Mapping (``event.object_type`` / ``event.action``; ``event.data`` is the activity):

- ``activity.call`` created -> a call; ``data.direction`` ``outbound`` (or ``outgoing``) / ``inbound``
  (or ``incoming``). ``outcome`` = ``data.disposition``, ``status`` = ``data.status``.
- ``activity.sms`` created -> an sms with ``data.direction``; an outbound one counts once ``data.status``
  is ``sent`` (Close creates texts in ``outbox``/``scheduled`` first and updates them when sent, so an
  ``updated`` event whose ``previous_data.status`` was not ``sent`` and whose ``data.status`` is ``sent``
  counts too). Drafts, scheduled, outbox and errored texts are skipped.
- ``activity.email`` the same way: ``data.direction`` ``outgoing`` -> outbound, ``incoming`` -> inbound
  (recorded, never a touch); an outgoing email counts once ``sent``.
- ``activity.meeting`` created -> an outbound meeting at ``data.starts_at``; a canceled or declined one is
  skipped.
- The person is ``event.lead_id`` (else ``data.lead_id``): the lead's ``external_ids.close``.
  ``rep_id`` = ``data.user_id`` (else ``event.user_id``); ``activity_id`` = ``close:<event.id>``.
- ``occurred_at``: a call's ``data.activity_at`` else ``data.date_created``; an email's or text's
  ``data.date_sent`` else ``data.date_updated`` (when it turned ``sent``) else ``data.date_created``; then
  ``event.date_created``. Close writes ``event.date_created`` without an offset: UTC.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from intake.crm import BadPayload, Mapped, Skipped, activity_key, bounded, external_id, parse_time
from intake.identity import CrmActivity
from shared.events import limits
from shared.events.activities import ActivityType, Direction

OBJECT_TYPES: dict[str, ActivityType] = {"activity.call": "call", "activity.email": "email",
                                         "activity.sms": "sms", "activity.meeting": "meeting"}
DIRECTIONS: dict[str, Direction] = {"outbound": "outbound", "outgoing": "outbound",
                                    "inbound": "inbound", "incoming": "inbound"}
NOT_HELD = frozenset({"canceled", "cancelled", "declined-by-lead", "declined-by-org"})


class SignatureRejected(Exception):
    """The request is not signed with the subscription's key, or its timestamp is stale."""


class KeyNotHex(Exception):
    """CLOSE_SIGNATURE_KEY is not the hex string Close shows."""


def signature(key_hex: str, timestamp: str, body: bytes) -> str:
    try:
        key = bytes.fromhex(key_hex.strip())
    except ValueError:
        raise KeyNotHex("CLOSE_SIGNATURE_KEY is not hex: paste the signature_key exactly as Close shows it.") from None
    return hmac.new(key, timestamp.encode() + body, hashlib.sha256).hexdigest()


def verify(key_hex: str, *, timestamp: str | None, given: str | None, body: bytes, now: float,
           tolerance_seconds: int) -> None:
    """Raise ``SignatureRejected`` unless ``given`` is the body's signature and ``timestamp`` is fresh."""
    if not timestamp or not given:
        raise SignatureRejected("close-sig-hash and close-sig-timestamp are both required.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureRejected("close-sig-timestamp must be unix seconds.") from None
    if abs(now - sent_at) > tolerance_seconds:
        raise SignatureRejected(
            f"close-sig-timestamp is more than {tolerance_seconds} seconds away from the server's clock.")
    expected = signature(key_hex, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise SignatureRejected("close-sig-hash does not match the body.")


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(field, "Expected a JSON object.")
    return value


def _text(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _first_time(data: dict[str, Any], event: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if data.get(name):
            return parse_time(data[name], f"event.data.{name}")
    return parse_time(event.get("date_created"), "event.date_created")


def to_activity(payload: Any) -> Mapped:
    """The activity a Close event stands for, or why it is skipped; a malformed event is a ``BadPayload``."""
    event = _object(_object(payload, "body").get("event"), "event")
    activity_id = activity_key("close", event.get("id"), "event.id")
    key = f"event {event.get('id')}"
    object_type, action = event.get("object_type"), event.get("action")
    if not isinstance(object_type, str) or not object_type:
        raise BadPayload("event.object_type", "Required: the object type of the event (activity.call, …).")
    if not isinstance(action, str) or not action:
        raise BadPayload("event.action", "Required: created, updated, deleted, …")
    kind = OBJECT_TYPES.get(object_type)
    if kind is None:
        return Skipped(key, f"a {object_type[:40]!r} event, not a call, email, sms or meeting")
    if action not in ("created", "updated"):
        return Skipped(key, f"action {action[:40]!r}")
    data = _object(event.get("data"), "event.data")
    status = _text(data.get("status"))
    if action == "updated":
        previous = event.get("previous_data")
        was = _text(previous.get("status")) if isinstance(previous, dict) else ""
        if kind not in ("email", "sms") or status != "sent" or not was or was == "sent":
            return Skipped(key, "an update that is not an email or text being sent")
    lead = external_id(event.get("lead_id"), "event.lead_id") or external_id(data.get("lead_id"), "event.data.lead_id")
    if lead is None:
        return Skipped(key, "the activity is not on a lead")
    direction: Direction | None
    if kind == "meeting":
        if status in NOT_HELD:
            return Skipped(key, f"the meeting is {status}")
        direction = "outbound"
        occurred_at = _first_time(data, event, ("starts_at", "date_created"))
    else:
        raw = _text(data.get("direction"))
        if raw not in DIRECTIONS:
            raise BadPayload("event.data.direction", "Expected outbound/outgoing or inbound/incoming.")
        direction = DIRECTIONS[raw]
        if kind in ("email", "sms") and direction == "outbound" and status and status != "sent":
            return Skipped(key, f"the {kind} is not sent yet (status {status[:20]!r})")
        names = ("activity_at", "date_created") if kind == "call" else ("date_sent", "date_updated", "date_created")
        if action == "created" and kind != "call":
            names = ("date_sent", "date_created")
        occurred_at = _first_time(data, event, names)
    return CrmActivity(
        crm="close", external_id=lead, activity_id=activity_id, type=kind, direction=direction,
        occurred_at=occurred_at, rep_id=bounded(data.get("user_id") or event.get("user_id"), limits.MAX_REP_ID),
        outcome=bounded(data.get("disposition"), limits.MAX_OUTCOME) if kind == "call" else None,
        status=bounded(data.get("status"), limits.MAX_STATUS))
