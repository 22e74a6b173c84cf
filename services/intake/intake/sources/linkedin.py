"""LinkedIn Lead Sync: the webhook's challenge and ``X-LI-Signature``, its ``LEAD_ACTION`` notifications, and the
lead form response read back by id from ``/rest/leadFormResponses`` (answers named through the form's questions)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from intake.sources.accept import SourceAnswer, SourceSubmission
from intake.sources.fetching import (
    BadLead,
    BadNotification,
    FailureKind,
    FetchFailure,
    FetchRequest,
    LeadNotice,
)

PROVIDER = "linkedin"
SIGNATURE_HEADER = "X-LI-Signature"
RESPONSE_URN = "urn:li:leadGenFormResponse:"
#: The response's fields, with the form decorated in (its questions name the answers, its hidden fields).
RESPONSE_FIELDS = ("id,submittedAt,testLead,leadType,versionedLeadGenFormUrn,owner,leadMetadataInfo,formResponse,"
                   "form:(hiddenFields,name,id,content)")


def challenge_response(secret: str, challenge_code: str) -> dict[str, str]:
    """The validation answer: ``challengeResponse`` = hex HMAC-SHA256(client secret, challengeCode)."""
    digest = hmac.new(secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()
    return {"challengeCode": challenge_code, "challengeResponse": digest}


def signature_matches(secret: str, header: str | None, body: bytes) -> bool:
    """``X-LI-Signature`` = hex HMAC-SHA256(client secret, ``"hmacsha256=" + raw body``), in constant time."""
    expected = hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest((header or "").strip().lower().encode(), expected.encode())


def _one(payload: Any, where: str) -> LeadNotice | None:
    if not isinstance(payload, dict):
        raise BadNotification(where or "body", "must be a JSON object.")
    prefix = f"{where}." if where else ""
    if payload.get("type") != "LEAD_ACTION" or payload.get("leadAction") != "CREATED":
        return None  # a deleted lead or another event: nothing to fetch
    urn = payload.get("leadGenFormResponse")
    if not isinstance(urn, str) or not urn.startswith(RESPONSE_URN) or not urn[len(RESPONSE_URN):].strip():
        raise BadNotification(f"{prefix}leadGenFormResponse", f"must be a '{RESPONSE_URN}<id>' URN.")
    response_id = urn[len(RESPONSE_URN):].strip()
    if len(response_id) > 255:
        raise BadNotification(f"{prefix}leadGenFormResponse", "is longer than 255 characters.")
    details = {"leadGenFormResponse": urn}
    for key in ("leadGenForm", "leadType", "occurredAt"):
        value = payload.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            details[key] = str(value)[:255]
    owner = payload.get("owner")
    if isinstance(owner, dict):
        details.update({f"owner.{k}": str(v)[:255] for k, v in owner.items() if isinstance(v, str)})
    return LeadNotice(PROVIDER, response_id, details.get("leadGenForm"), details)


def notices(payload: Any) -> list[LeadNotice]:
    """One notice per created lead (a single notification object, or a list of them)."""
    if isinstance(payload, list):
        found = [_one(item, str(i)) for i, item in enumerate(payload)]
    else:
        found = [_one(payload, "")]
    return [notice for notice in found if notice is not None]


def _localized(value: Any) -> str | None:
    """The first text of a ``{"localized": {"en_US": "..."}}`` value."""
    if isinstance(value, dict) and isinstance(value.get("localized"), dict):
        texts = [t for t in value["localized"].values() if isinstance(t, str) and t.strip()]
        return texts[0].strip() if texts else None
    return value.strip() or None if isinstance(value, str) else None


def _questions(form: Any) -> dict[str, dict[str, Any]]:
    """``{questionId: question}`` of the decorated form (empty when LinkedIn did not include it)."""
    content = form.get("content") if isinstance(form, dict) else None
    questions = content.get("questions") if isinstance(content, dict) else None
    if not isinstance(questions, list):
        return {}
    return {str(q["questionId"]): q for q in questions if isinstance(q, dict) and "questionId" in q}


def _answer_text(details: Any, question: dict[str, Any]) -> str | None:
    """A text answer, or the texts of the chosen options of a multiple-choice question (their ids if unnamed)."""
    if not isinstance(details, dict):
        return None
    text = details.get("textQuestionAnswer")
    if isinstance(text, dict) and isinstance(text.get("answer"), str | int | float):
        return str(text["answer"]).strip() or None
    choice = details.get("multipleChoiceAnswer")
    if isinstance(choice, dict) and isinstance(choice.get("options"), list):
        q_details = question.get("questionDetails") if isinstance(question.get("questionDetails"), dict) else {}
        mc = q_details.get("multipleChoiceQuestionDetails") if isinstance(q_details, dict) else None
        options = mc.get("options") if isinstance(mc, dict) else None
        names = {str(o.get("id")): _localized(o.get("text")) for o in options or [] if isinstance(o, dict)}
        chosen = [names.get(str(option)) or str(option) for option in choice["options"]]
        return ", ".join(chosen) or None
    return None


def _campaign(response: dict[str, Any], form: Any) -> str | None:
    info = response.get("leadMetadataInfo")
    sponsored = info.get("sponsoredLeadMetadataInfo") if isinstance(info, dict) else None
    campaign = sponsored.get("campaign") if isinstance(sponsored, dict) else None
    name = campaign.get("name") if isinstance(campaign, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()
    return _localized(form.get("name")) if isinstance(form, dict) else None


@dataclass(frozen=True)
class LinkedInLeadSync:
    api_url: str
    api_version: str
    provider: str = PROVIDER
    token_variable: str = "LINKEDIN_ACCESS_TOKEN"

    def fetch_request(self, notice: LeadNotice, *, token: str) -> FetchRequest:
        # The projection goes into the URL as it is: Rest.li reads its parentheses, colons and commas as structure,
        # so they must not be percent-encoded the way query parameters are.
        return FetchRequest(
            f"{self.api_url.rstrip('/')}/rest/leadFormResponses/{quote(notice.provider_lead_id, safe='')}"
            f"?fields={RESPONSE_FIELDS}", {},
            {"Authorization": f"Bearer {token}", "LinkedIn-Version": self.api_version,
             "X-Restli-Protocol-Version": "2.0.0", "Accept": "application/json"})

    def submission(self, notice: LeadNotice, lead: Any) -> SourceSubmission:
        if not isinstance(lead, dict):
            raise BadLead("LinkedIn answered something other than a lead form response.")
        form_response = lead.get("formResponse")
        answers_in = form_response.get("answers") if isinstance(form_response, dict) else None
        if not isinstance(answers_in, list):
            raise BadLead("The lead form response has no formResponse.answers list.")
        form = lead.get("form")
        questions = _questions(form)
        answers = []
        for item in answers_in:
            if not isinstance(item, dict) or "questionId" not in item:
                raise BadLead("An answer has no questionId.")
            question = questions.get(str(item["questionId"]), {})
            text = _answer_text(item.get("answerDetails"), question)
            if text is None:
                continue
            name = question.get("name") if isinstance(question.get("name"), str) else None
            predefined = question.get("predefinedField")
            answers.append(SourceAnswer(key=name or f"question_{item['questionId']}", value=text,
                                        label=_localized(question.get("question")),
                                        kind=predefined if isinstance(predefined, str) else None))
        hidden_in = form.get("hiddenFields") if isinstance(form, dict) else None
        hidden = {h["name"]: str(h["value"]) for h in hidden_in or []
                  if isinstance(h, dict) and isinstance(h.get("name"), str) and h.get("value") is not None}
        submitted = lead.get("submittedAt")
        submitted_at = (datetime.fromtimestamp(submitted / 1000, UTC)
                        if isinstance(submitted, int | float) and not isinstance(submitted, bool) else None)
        form_urn = lead.get("versionedLeadGenFormUrn")
        return SourceSubmission(
            provider=PROVIDER, provider_lead_id=notice.provider_lead_id,
            form_id=form_urn if isinstance(form_urn, str) else notice.form_id, submitted_at=submitted_at,
            answers=tuple(answers), hidden=hidden, campaign=_campaign(lead, form),
            is_test=lead.get("testLead") is True)

    def failure(self, status: int, body: Any) -> FetchFailure:
        """LinkedIn errors: ``{"status", "serviceErrorCode", "code", "message"}``; 401 = token expired or revoked
        (LinkedIn tokens last 60 days), 403 = a missing permission, 404 = no such response."""
        code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), str) else None
        service_code = body.get("serviceErrorCode") if isinstance(body, dict) else None
        reason = f"HTTP {status}" + (f" {code[:40]}" if code else "") \
            + (f" (serviceErrorCode {service_code})" if isinstance(service_code, int) else "")
        if status >= 500 or status in (408, 429):
            return FetchFailure(FailureKind.TRANSIENT, reason)
        if status in (401, 403):
            return FetchFailure(FailureKind.AUTH, reason)
        return FetchFailure(FailureKind.INVALID, reason)
