"""Zuddl webhooks, action ``LEAD_ADDED`` (a lead captured at an event; https://docs.zuddl.com/api-reference/
leadactivitywebhooks/lead-added-activity).

Zuddl lets the webhook carry an auth header of one's choosing (its guide's example: ``X-Webhook-Token``); it also
sends an ``X-Webhook-Signature: sha256=...`` whose computation it does not document, so intake checks the token:
``X-Webhook-Token`` must equal ``ZUDDL_WEBHOOK_TOKEN``."""

from __future__ import annotations

from typing import Any

from intake.sources.parsing import answer_text, obj, require_match, text, timestamp
from intake.sources.submission import SourceAnswer, SourceSubmission

PROVIDER = "zuddl"
HEADER = "X-Webhook-Token"
ACTION = "LEAD_ADDED"

#: The lead's own fields, with the label their notes line gets when sources.yaml maps them to no field.
_FIELDS = {"firstName": "First name", "lastName": "Last name", "email": "Email", "phoneNumber": "Phone",
           "designation": "Designation", "company": "Company", "country": "Country", "notes": "Notes",
           "rating": "Rating", "leadStatus": "Lead status", "leadAddedByName": "Lead owner"}


def verify(token: str | None, expected: str) -> None:
    require_match(token, expected, header=HEADER)


def parse(payload: Any) -> SourceSubmission | None:
    """The submission of a ``LEAD_ADDED`` action; ``None`` for any other action (Zuddl subscribes a new webhook
    to every action unless told otherwise)."""
    payload = obj(payload, "body")
    if payload.get("action") != ACTION:
        return None
    lead = obj(payload.get("lead"), "lead")
    event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    answers = [SourceAnswer(key=key, value=value, label=label)
               for key, label in _FIELDS.items() if (value := answer_text(lead.get(key))) is not None]
    if (event_name := text(event.get("name"), "event.name")) is not None:
        answers.append(SourceAnswer(key="eventName", value=event_name, label="Event"))
    for index, item in enumerate(lead.get("customFields") or []):
        custom = obj(item, f"lead.customFields.{index}")
        question = text(custom.get("question"), f"lead.customFields.{index}.question")
        response = custom.get("response")
        value = ", ".join(str(v) for v in response) if isinstance(response, list) else answer_text(response)
        key = text(custom.get("id"), f"lead.customFields.{index}.id") or question
        if key and value:
            answers.append(SourceAnswer(key=key, value=value, label=question, kind=text(custom.get("type"), "type")))
    return SourceSubmission(
        provider=PROVIDER,
        provider_lead_id=text(lead.get("id"), "lead.id", required=True) or "",
        form_id=text(event.get("id"), "event.id"),
        submitted_at=timestamp(lead.get("createdAt") or payload.get("actionCreatedAt"), "lead.createdAt"),
        answers=tuple(answers),
        campaign=event_name,
    )
