"""CRM adapters: each provider's own webhook format, mapped onto ``CrmActivity`` without any I/O.

One module per provider turns a parsed request into activities (``intake.identity.CrmActivity``) and
``Skipped`` notes for the events that are not activities leadrouter records (a deal changed, a task not done
yet, an email still in the outbox). The routes in ``intake.routes.integrations`` check the provider's
credentials, call these, and store what came out through ``intake.identity``. HubSpot's created calls,
emails and meetings need its API: ``hubspot_api`` reads it (bounded in time) and ``hubspot_batch`` runs one
webhook batch (map, look up, store); ``hubspot`` itself stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from intake.identity import CrmActivity
from shared.events import limits


class BadPayload(Exception):
    """The request is not what the provider documents; ``field`` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Skipped:
    """An event that is not an activity leadrouter records, with the reason (logged, never an error: the
    provider would retry it, or switch the webhook off)."""

    key: str
    reason: str


Mapped = CrmActivity | Skipped


def parse_time(value: Any, field: str) -> datetime:
    """An aware datetime from a provider's timestamp. ISO 8601 with or without an offset and Pipedrive's
    ``YYYY-MM-DD HH:MM:SS`` are accepted; a time without an offset is UTC (all three providers send UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise BadPayload(field, "Give a date and time, e.g. 2026-11-25T09:30:00Z.")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadPayload(field, f"{value[:40]!r} is not a date and time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise BadPayload(field, "The date is out of range.") from None


def parse_date(value: Any, field: str) -> datetime:
    """A date-only value (``2026-11-25``) as midnight UTC of that day."""
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadPayload(field, f"{str(value)[:40]!r} is not a date.") from None
    return datetime.combine(day, time(), tzinfo=UTC)


def bounded(value: Any, limit: int) -> str | None:
    """A provider's free value (an owner id, an outcome) as text within the shared limit, or None."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text[:limit] or None


def activity_key(crm: str, key: Any, field: str) -> str:
    """``<crm>:<key>``: unique across CRMs, within the activity id limit."""
    if not isinstance(key, (str, int)) or isinstance(key, bool) or not str(key).strip():
        raise BadPayload(field, "Required: the provider's id of this event.")
    activity_id = f"{crm}:{str(key).strip()}"
    if len(activity_id) > limits.MAX_ACTIVITY_ID or any(ord(c) < 32 for c in activity_id):
        raise BadPayload(field, f"At most {limits.MAX_ACTIVITY_ID - len(crm) - 1} printable characters.")
    return activity_id


def external_id(value: Any, field: str) -> str | None:
    """The CRM's id of the person as text, or None when absent; a malformed one is a ``BadPayload``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadPayload(field, "An id is a string or an integer.")
    text = str(value).strip()
    if not text or len(text) > limits.MAX_EXTERNAL_ID or any(ord(c) < 32 for c in text):
        raise BadPayload(field, f"An id has 1 to {limits.MAX_EXTERNAL_ID} printable characters.")
    return text
