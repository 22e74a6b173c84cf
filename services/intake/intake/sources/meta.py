"""Meta Lead Ads: the webhook's verification handshake and signature, its ``leadgen`` notices, and the lead read
back from the Graph API (``GET /{leadgen-id}``, ``field_data: [{name, values}]``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from intake.sources.accept import SourceAnswer, SourceSubmission
from intake.sources.fetching import (
    BadLead,
    BadNotification,
    FailureKind,
    FetchFailure,
    FetchRequest,
    LeadNotice,
)

PROVIDER = "meta"
SIGNATURE_HEADER = "X-Hub-Signature-256"
#: The lead's fields read from the Graph API (Lead / UserLeadGenInfo reference).
LEAD_FIELDS = ("id,created_time,field_data,form_id,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,"
               "is_organic,platform")
#: Ids of the notice kept with the pending fetch (no answers are in a notice anyway).
_NOTICE_IDS = ("page_id", "form_id", "ad_id", "adgroup_id", "created_time")
#: Extra lead fields passed on as hidden values (ids and names of the ad that produced the lead).
_HIDDEN = ("ad_id", "ad_name", "adset_id", "adset_name", "campaign_id", "platform", "is_organic")

#: Graph API error codes worth waiting out: unknown/temporary errors, throttling, rate limits (80000-80099).
_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
#: The token is invalid or expired (190, 102) or lacks a permission (10, 200-299): fixed by the page admin.
_AUTH_CODES = frozenset({10, 102, 190})


class VerificationRefused(Exception):
    """The GET handshake is not a subscription with our verify token."""


def challenge(*, mode: str | None, verify_token: str | None, challenge_value: str | None, expected: str) -> str:
    """The ``hub.challenge`` to echo when ``hub.mode=subscribe`` and ``hub.verify_token`` is ours."""
    token_ok = hmac.compare_digest((verify_token or "").encode(), expected.encode())
    if mode != "subscribe" or not token_ok or not challenge_value:
        raise VerificationRefused("hub.mode must be 'subscribe' and hub.verify_token must be META_VERIFY_TOKEN.")
    return challenge_value


def signature_matches(secret: str, header: str | None, body: bytes) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``, compared in constant time."""
    scheme, _, given = (header or "").strip().partition("=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return scheme.lower() == "sha256" and hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def _id(value: Any, field: str) -> str:
    """Graph ids arrive as strings or (in older payloads) numbers; either way a string of digits here."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise BadNotification(field, "must be a Graph API id (a string or number).")
    text = str(value).strip()
    if len(text) > 255:
        raise BadNotification(field, "is longer than 255 characters.")
    return text


def notices(payload: Any) -> list[LeadNotice]:
    """One notice per ``leadgen`` change of a ``page`` webhook; other objects and fields are ignored."""
    if not isinstance(payload, dict):
        raise BadNotification("body", "must be a JSON object with 'object' and 'entry'.")
    if payload.get("object") != "page":
        return []
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise BadNotification("entry", "must be a list.")
    found: list[LeadNotice] = []
    for i, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise BadNotification(f"entry.{i}.changes", "must be a list.")
        for j, change in enumerate(changes):
            where = f"entry.{i}.changes.{j}"
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                raise BadNotification(f"{where}.value", "must be an object with leadgen_id.")
            lead_id = _id(value.get("leadgen_id"), f"{where}.value.leadgen_id")
            details = {key: _id(value[key], f"{where}.value.{key}") for key in _NOTICE_IDS
                       if value.get(key) is not None}
            found.append(LeadNotice(PROVIDER, lead_id, details.get("form_id"), details))
    return found


def _submitted_at(value: Any) -> datetime | None:
    """Graph times: ``2015-02-28T08:49:14+0000`` (or unix seconds in a notice)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise BadLead("created_time is not a Graph API time.")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class MetaLeadAds:
    """The Graph API side: request building, the lead's parsing, what an error means."""

    graph_url: str
    #: With the app secret, each request carries ``appsecret_proof`` (needed when the app requires it).
    app_secret: str | None = None
    provider: str = PROVIDER
    token_variable: str = "META_PAGE_ACCESS_TOKEN"

    def fetch_request(self, notice: LeadNotice, *, token: str) -> FetchRequest:
        params = {"access_token": token, "fields": LEAD_FIELDS}
        if self.app_secret:
            params["appsecret_proof"] = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        return FetchRequest(f"{self.graph_url.rstrip('/')}/{notice.provider_lead_id}", params)

    def submission(self, notice: LeadNotice, lead: Any) -> SourceSubmission:
        if not isinstance(lead, dict):
            raise BadLead("The Graph API answered something other than a lead object.")
        field_data = lead.get("field_data")
        if not isinstance(field_data, list):
            raise BadLead("The lead has no field_data list.")
        answers = []
        for item in field_data:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise BadLead("A field_data entry has no name.")
            values = item.get("values")
            values = values if isinstance(values, list) else [values]
            text = ", ".join(t for t in (_text(v) for v in values) if t)
            if text:
                answers.append(SourceAnswer(key=item["name"], value=text))
        extras = {key: _text(lead.get(key)) for key in _HIDDEN}
        hidden: Mapping[str, str] = {key: value for key, value in extras.items() if value is not None}
        return SourceSubmission(
            provider=PROVIDER, provider_lead_id=notice.provider_lead_id,
            form_id=_text(lead.get("form_id")) or notice.form_id,
            submitted_at=_submitted_at(lead.get("created_time") or notice.details.get("created_time")),
            answers=tuple(answers), hidden=hidden, campaign=_text(lead.get("campaign_name")))

    def failure(self, status: int, body: Any) -> FetchFailure:
        """Graph errors (``{"error": {"code", "error_subcode", "type", "is_transient"}}``) by code, then status."""
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
        kind_name = str(error.get("type", ""))[:40].replace(" ", "")
        reason = f"HTTP {status}" + (f", Graph error {code}" if code is not None else "") \
            + (f"/{subcode}" if subcode is not None else "") + (f" ({kind_name})" if kind_name else "")
        if status >= 500 or status in (408, 429) or error.get("is_transient") is True \
                or code in _TRANSIENT_CODES or (code is not None and 80000 <= code <= 80099):
            return FetchFailure(FailureKind.TRANSIENT, reason)
        if status in (401, 403) or code in _AUTH_CODES or (code is not None and 200 <= code <= 299):
            return FetchFailure(FailureKind.AUTH, reason)
        return FetchFailure(FailureKind.INVALID, reason)
