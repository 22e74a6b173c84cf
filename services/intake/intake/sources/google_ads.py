"""Google Ads lead form webhooks: the form's key in the body (``google_key``), the answers in ``user_column_data``
by ``column_id`` (https://developers.google.com/google-ads/webhook/docs/implementation)."""

from __future__ import annotations

import hmac
from typing import Any

from intake.signatures import SignatureRejected
from intake.sources.parsing import obj, text, timestamp
from intake.sources.submission import SourceAnswer, SourceSubmission

PROVIDER = "google_ads"


def verify(payload: Any, key: str) -> None:
    """``SignatureRejected`` unless the body carries our ``google_key`` (compared in constant time)."""
    given = payload.get("google_key") if isinstance(payload, dict) else None
    if not isinstance(given, str) or not given:
        raise SignatureRejected("The body has no google_key; set the lead form's webhook key to "
                                "GOOGLE_ADS_WEBHOOK_KEY.")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise SignatureRejected("The google_key of the body does not match GOOGLE_ADS_WEBHOOK_KEY.")


def parse(payload: Any) -> SourceSubmission:
    payload = obj(payload, "body")
    answers = []
    for index, item in enumerate(payload.get("user_column_data") or []):
        where = f"user_column_data.{index}"
        column = obj(item, where)
        key = text(column.get("column_id"), f"{where}.column_id") or text(column.get("column_name"), where)
        value = text(column.get("string_value"), f"{where}.string_value")
        if key and value:
            answers.append(SourceAnswer(key=key, value=value, label=text(column.get("column_name"), where) or key))
    hidden = {"gclid": gclid} if (gclid := text(payload.get("gcl_id"), "gcl_id")) else {}
    return SourceSubmission(
        provider=PROVIDER,
        provider_lead_id=text(payload.get("lead_id"), "lead_id", required=True) or "",
        form_id=text(payload.get("form_id"), "form_id"),
        # Newer payloads carry the submit time; older ones do not (the lead is then captured when received).
        submitted_at=timestamp(payload.get("lead_submit_time"), "lead_submit_time"),
        answers=tuple(answers),
        hidden=hidden,
        # Google sends ids only; a form's `defaults.campaign` in sources.yaml can name it.
        campaign=text(payload.get("campaign_id"), "campaign_id"),
        is_test=payload.get("is_test") is True,
    )
