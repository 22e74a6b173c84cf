"""LinkedIn Lead Sync, pure parts: the challenge, X-LI-Signature, LEAD_ACTION notices, the form response, errors."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from intake.sources import linkedin
from intake.sources.fetching import BadLead, BadNotification, FailureKind, LeadNotice
from tests.lead_ads_examples import (
    LINKEDIN_LEAD,
    LINKEDIN_NOT_FOUND,
    LINKEDIN_NOTIFICATION,
    LINKEDIN_RESPONSE_ID,
    LINKEDIN_TOKEN_EXPIRED,
    copied,
)

SECRET = "client-secret"
SYNC = linkedin.LinkedInLeadSync(api_url="https://api.example/", api_version="202601")
NOTICE = LeadNotice("linkedin", LINKEDIN_RESPONSE_ID, "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)")


def test_the_challenge_response_is_the_hex_hmac_of_the_code_under_the_client_secret() -> None:
    code = "890e4d2a-8d1e-4bd2-8d2f-5a1b0b0d6f3e"
    assert linkedin.challenge_response(SECRET, code) == {
        "challengeCode": code,
        "challengeResponse": hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()}


def test_the_signature_covers_hmacsha256_and_the_raw_body() -> None:
    body = b'{"type":"LEAD_ACTION"}'
    good = hmac.new(SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    assert linkedin.signature_matches(SECRET, good, body)
    assert linkedin.signature_matches(SECRET, good.upper(), body)
    assert not linkedin.signature_matches(SECRET, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(), body)
    assert not linkedin.signature_matches(SECRET, good, body + b" ")
    assert not linkedin.signature_matches("other", good, body)
    assert not linkedin.signature_matches(SECRET, None, body)


def test_the_documented_notification_gives_the_response_id_to_fetch() -> None:
    [notice] = linkedin.notices(copied(LINKEDIN_NOTIFICATION))
    assert notice.provider == "linkedin" and notice.provider_lead_id == LINKEDIN_RESPONSE_ID
    assert notice.form_id == "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)"
    assert notice.details["leadType"] == "SPONSORED" and notice.details["occurredAt"] == "1711395661000"
    assert notice.details["owner.sponsoredAccount"] == "urn:li:sponsoredAccount:11223344"


def test_a_deleted_lead_or_another_event_gives_nothing_to_fetch() -> None:
    assert linkedin.notices({**LINKEDIN_NOTIFICATION, "leadAction": "DELETED"}) == []
    assert linkedin.notices({"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": []}) == []
    assert len(linkedin.notices([copied(LINKEDIN_NOTIFICATION), copied(LINKEDIN_NOTIFICATION)])) == 2


@pytest.mark.parametrize(("payload", "field"), [
    ("x", "body"),
    ({**LINKEDIN_NOTIFICATION, "leadGenFormResponse": None}, "leadGenFormResponse"),
    ({**LINKEDIN_NOTIFICATION, "leadGenFormResponse": "urn:li:sponsoredCreative:1"}, "leadGenFormResponse"),
    ({**LINKEDIN_NOTIFICATION, "leadGenFormResponse": "urn:li:leadGenFormResponse:"}, "leadGenFormResponse"),
    ([LINKEDIN_NOTIFICATION, {**LINKEDIN_NOTIFICATION, "leadGenFormResponse": 5}], "1.leadGenFormResponse"),
])
def test_a_malformed_notification_names_the_field(payload: object, field: str) -> None:
    with pytest.raises(BadNotification) as refused:
        linkedin.notices(payload)
    assert refused.value.field == field


def test_the_fetch_reads_the_response_by_id_with_the_documented_headers() -> None:
    request = SYNC.fetch_request(NOTICE, token="li-token")
    assert request.url == (f"https://api.example/rest/leadFormResponses/{LINKEDIN_RESPONSE_ID}"
                           f"?fields={linkedin.RESPONSE_FIELDS}")
    assert request.headers["Authorization"] == "Bearer li-token"
    assert request.headers["LinkedIn-Version"] == "202601"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert "formResponse" in linkedin.RESPONSE_FIELDS and "form:(hiddenFields" in linkedin.RESPONSE_FIELDS
    assert "li-token" not in repr(request)


def test_the_documented_response_becomes_a_submission_with_answers_named_by_the_form() -> None:
    submission = SYNC.submission(NOTICE, copied(LINKEDIN_LEAD))
    assert submission.provider == "linkedin" and submission.provider_lead_id == LINKEDIN_RESPONSE_ID
    assert submission.submitted_at == datetime(2024, 3, 25, 19, 41, tzinfo=UTC)
    assert submission.form_id == "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)"
    assert submission.campaign == "Q2 CFO webinar"
    assert [(a.key, a.value, a.label, a.kind) for a in submission.answers] == [
        ("First name", "Ana", "Nombre", "FIRST_NAME"),
        ("Last name", "Ruiz", "Apellidos", "LAST_NAME"),
        ("Email", "ana.ruiz@example.com", "Correo electrónico", "EMAIL"),
        ("Company size", "51-500", "Tamaño de la empresa", None)]
    assert submission.hidden == {"hidden_field": "abc678", "utm_source": "linkedin"}
    assert submission.is_test is False


def test_without_the_form_answers_are_named_by_question_id_and_the_test_flag_is_kept() -> None:
    lead = copied(LINKEDIN_LEAD)
    del lead["form"], lead["leadMetadataInfo"]
    lead["testLead"] = True
    submission = SYNC.submission(NOTICE, lead)
    assert [a.key for a in submission.answers] == ["question_107234246", "question_207234246",
                                                   "question_307234246", "question_407234246"]
    assert submission.answers[3].value == "2"
    assert submission.campaign is None and submission.is_test is True


@pytest.mark.parametrize("lead", [[], {"id": "x"}, {"formResponse": {"answers": [{"answerDetails": {}}]}}])
def test_a_response_without_the_documented_shape_is_refused(lead: object) -> None:
    with pytest.raises(BadLead):
        SYNC.submission(NOTICE, lead)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (500, None, FailureKind.TRANSIENT),
    (429, {"status": 429, "code": "TOO_MANY_REQUESTS"}, FailureKind.TRANSIENT),
    (401, LINKEDIN_TOKEN_EXPIRED, FailureKind.AUTH),
    (403, {"status": 403, "code": "ACCESS_DENIED"}, FailureKind.AUTH),
    (404, LINKEDIN_NOT_FOUND, FailureKind.INVALID),
    (400, {"status": 400, "code": "ILLEGAL_ARGUMENT"}, FailureKind.INVALID),
])
def test_linkedin_errors_say_whether_to_retry(status: int, body: object, kind: FailureKind) -> None:
    failure = SYNC.failure(status, body)
    assert failure.kind is kind and failure.reason.startswith(f"HTTP {status}")
    assert "revoked by the user" not in failure.reason
