"""Tally webhooks: ``Tally-Signature: <base64 HMAC-SHA256(signing secret, raw body)>``, one ``FORM_RESPONSE`` per
request (https://tally.so/help/webhooks)."""

from __future__ import annotations

import json
from typing import Any

from intake.sources.parsing import answer_text, hmac_sha256_base64, obj, require_match, text, timestamp
from intake.sources.submission import SourceAnswer, SourceSubmission

PROVIDER = "tally"
HEADER = "Tally-Signature"


def verify(signature: str | None, body: bytes, secret: str) -> None:
    require_match(signature, hmac_sha256_base64(secret, body), header=HEADER)


def parse(payload: Any) -> SourceSubmission | None:
    """The submission in a webhook payload; ``None`` for an event that is not a form response."""
    payload = obj(payload, "body")
    if payload.get("eventType") != "FORM_RESPONSE":
        return None
    data = obj(payload.get("data"), "data")
    answers: list[SourceAnswer] = []
    hidden: dict[str, str] = {}
    for index, item in enumerate(data.get("fields") or []):
        field = obj(item, f"data.fields.{index}")
        kind, label = text(field.get("type"), "type"), text(field.get("label"), "label")
        value = _value(field)
        if value is None:
            continue
        if kind == "HIDDEN_FIELDS" and label:
            hidden[label] = value
            continue
        key = text(field.get("key"), f"data.fields.{index}.key") or label
        if key:
            answers.append(SourceAnswer(key=key, value=value, label=label, kind=kind))
    lead_id = text(data.get("responseId"), "data.responseId") or text(data.get("submissionId"), "data.submissionId")
    return SourceSubmission(
        provider=PROVIDER,
        provider_lead_id=lead_id or text(None, "data.responseId", required=True) or "",
        form_id=text(data.get("formId"), "data.formId"),
        submitted_at=timestamp(data.get("createdAt") or payload.get("createdAt"), "data.createdAt"),
        answers=tuple(answers),
        hidden=hidden,
        campaign=text(data.get("formName"), "data.formName"),
    )


def _value(field: dict[str, Any]) -> str | None:
    """A field's value as text: choices by their option text (Tally sends option ids), files by their URL."""
    value = field.get("value")
    if isinstance(value, bool) and field.get("type") == "CHECKBOXES":
        return None  # one "Question (Option)" field per option; the question's own field lists the choices
    if isinstance(value, list):
        options = {o.get("id"): o.get("text") for o in field.get("options") or [] if isinstance(o, dict)}
        parts = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("url") or item.get("name")
            shown = options.get(item, item) if isinstance(item, str) else item
            if (part := answer_text(shown)) is not None:
                parts.append(part)
        return ", ".join(parts) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": ")) or None
    return answer_text(value)
