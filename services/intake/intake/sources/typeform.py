"""Typeform webhooks: ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>``, one ``form_response``
per request (https://www.typeform.com/developers/webhooks/)."""

from __future__ import annotations

from typing import Any

from intake.sources.parsing import answer_text, hmac_sha256_base64, obj, require_match, text, timestamp
from intake.sources.submission import SourceAnswer, SourceSubmission

PROVIDER = "typeform"
HEADER = "Typeform-Signature"


def verify(signature: str | None, body: bytes, secret: str) -> None:
    require_match(signature, f"sha256={hmac_sha256_base64(secret, body)}", header=HEADER)


def parse(payload: Any) -> SourceSubmission | None:
    """The submission in a webhook payload; ``None`` for an event that is not a form response."""
    payload = obj(payload, "body")
    if payload.get("event_type", "form_response") != "form_response":
        return None
    response = obj(payload.get("form_response"), "form_response")
    definition = _mapping_at(response, "definition")
    titles = {f.get("id"): f.get("title") for f in definition.get("fields") or [] if isinstance(f, dict)}
    answers = []
    for index, item in enumerate(response.get("answers") or []):
        answer = obj(item, f"form_response.answers.{index}")
        field = obj(answer.get("field"), f"form_response.answers.{index}.field")
        value = _value(answer)
        key = text(field.get("ref"), "field.ref") or text(field.get("id"), "field.id")
        if value is None or key is None:
            continue
        label = titles.get(field.get("id"))
        answers.append(SourceAnswer(key=key, value=value, label=label if isinstance(label, str) else None,
                                    kind=text(field.get("type"), "field.type")))
    hidden = _mapping_at(response, "hidden")
    return SourceSubmission(
        provider=PROVIDER,
        provider_lead_id=text(response.get("token"), "form_response.token", required=True) or "",
        form_id=text(response.get("form_id"), "form_response.form_id"),
        submitted_at=timestamp(response.get("submitted_at"), "form_response.submitted_at"),
        answers=tuple(answers),
        hidden={str(k): v for k, v in ((k, answer_text(v)) for k, v in hidden.items()) if v is not None},
        campaign=text(definition.get("title"), "form_response.definition.title"),
    )


def _mapping_at(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    return value if isinstance(value, dict) else {}


def _value(answer: dict[str, Any]) -> str | None:
    """An answer's value, which Typeform keys by the answer's type (``email``, ``choice``, ``choices``, …)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return answer_text(value.get("label") or value.get("other"))
    if kind == "choices" and isinstance(value, dict):
        labels = [str(v) for v in value.get("labels") or [] if isinstance(v, str | int)]
        if isinstance(value.get("other"), str):
            labels.append(value["other"])
        return ", ".join(labels) or None
    if kind == "payment" and isinstance(value, dict):
        return answer_text(value.get("amount"))
    return answer_text(value)
