"""Pipedrive webhooks v2: one JSON event per request, ``{"meta": …, "data": …, "previous": …}``.

Pipedrive documents (Guide for Webhooks v2): ``meta.action`` is ``create``, ``change`` or ``delete``,
``meta.entity`` the object (``activity``, ``deal``, …), ``meta.id`` the id of the event; ``data`` is the object
as of this event and ``previous`` holds only the fields that changed. It waits 10 seconds for a 2xx, retries
three times, bans a webhook after 10 failed first attempts and deletes it after 3 days without a success,
so every event that is simply not a touch is answered 200.

Mapping:

- An activity is recorded when it is done: ``create`` with ``data.done`` true, or ``change`` where
  ``previous.done`` was false and ``data.done`` is true. Undone, deleted, edited-but-already-done
  activities and other entities are skipped.
- ``data.type`` ``call`` -> call, ``email`` -> email, ``meeting`` and ``lunch`` -> meeting, ``sms`` -> sms,
  all outbound (a done Pipedrive activity is one the rep carried out); any other type (``task``,
  ``deadline``, custom ones) -> a note.
- The person is ``data.person_id``; without one, ``data.lead_id`` (the Pipedrive lead's UUID). Either is
  the lead's ``external_ids.pipedrive``.
- ``occurred_at`` = ``data.marked_as_done_time``, else ``data.update_time`` (a change), else
  ``data.add_time``, else ``meta.timestamp``. Pipedrive gives UTC, sometimes without an offset
  (``2024-01-01 10:00:00``): a time without an offset is read as UTC.
- ``rep_id`` = ``data.owner_id`` (v2; ``user_id`` in older payloads); ``activity_id`` = ``pipedrive:<meta.id>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from intake.crm import BadPayload, Mapped, Skipped, activity_key, bounded, external_id, parse_time
from intake.identity import CrmActivity
from shared.events import limits
from shared.events.activities import ActivityType

TYPES: dict[str, ActivityType] = {"call": "call", "email": "email", "meeting": "meeting", "lunch": "meeting",
                                  "sms": "sms"}


def _object(value: Any, field: str, *, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(field, "Expected a JSON object.")
    return value


def _id(value: Any) -> Any:
    """An id as given, or the ``value`` of Pipedrive's ``{"value": id, "name": …}`` form of older payloads."""
    return value.get("value") if isinstance(value, dict) else value


def _is_true(value: Any) -> bool:
    return value is True or value == 1


def _is_false(value: Any) -> bool:
    return value is False or value == 0


def _meta_time(value: Any) -> datetime:
    """``meta.timestamp``: ISO 8601 in the documented example, "a 10 character timestamp" in its description."""
    if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).isdigit() and len(str(value)) <= 10:
        return datetime.fromtimestamp(int(value), tz=UTC)
    return parse_time(value, "meta.timestamp")


def to_activity(payload: Any) -> Mapped:
    """The activity a Pipedrive v2 event stands for, or why it is skipped; a payload that is not a v2 event
    is a ``BadPayload`` naming the field."""
    event = _object(payload, "body")
    meta = _object(event.get("meta"), "meta")
    if "entity" not in meta and "object" in meta:
        raise BadPayload("meta.entity", "This is a webhooks v1 payload: create the webhook with version 2.0.")
    entity, action = meta.get("entity"), meta.get("action")
    if not isinstance(entity, str) or not entity:
        raise BadPayload("meta.entity", "Required: the object type of the event (activity, deal, …).")
    if not isinstance(action, str) or not action:
        raise BadPayload("meta.action", "Required: create, change or delete.")
    activity_id = activity_key("pipedrive", meta.get("id"), "meta.id")
    key = f"event {meta.get('id')}"
    if entity != "activity":
        return Skipped(key, f"a {entity[:40]!r} event, not an activity")
    if action not in ("create", "change"):
        return Skipped(key, f"action {action[:40]!r}: only a created or changed activity can be a touch")
    data = _object(event.get("data"), "data")
    previous = _object(event.get("previous"), "previous", required=False)
    if not _is_true(data.get("done")):
        return Skipped(key, "the activity is not done")
    if action == "change" and not ("done" in previous and _is_false(previous["done"])):
        return Skipped(key, "the activity was already done (only the change to done is a touch)")
    if _is_true(data.get("is_deleted")):
        return Skipped(key, "the activity is deleted")
    person = (external_id(_id(data.get("person_id")), "data.person_id")
              or external_id(_id(data.get("lead_id")), "data.lead_id"))
    if person is None:
        return Skipped(key, "the activity has no person_id or lead_id")
    raw_type = data.get("type")
    kind = TYPES.get(raw_type.strip().lower(), "note") if isinstance(raw_type, str) else "note"
    for name in ("marked_as_done_time", "update_time", "add_time"):
        if data.get(name):
            occurred_at = parse_time(data[name], f"data.{name}")
            break
    else:
        occurred_at = _meta_time(meta.get("timestamp"))
    return CrmActivity(
        crm="pipedrive", external_id=person, activity_id=activity_id, type=kind,
        direction="outbound" if kind != "note" else None, occurred_at=occurred_at,
        rep_id=bounded(data.get("owner_id", data.get("user_id")), limits.MAX_REP_ID))
