"""Meta Lead Ads, pure parts: the handshake, the signature on raw bytes, leadgen notices, the Graph lead, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from intake.sources import meta
from intake.sources.fetching import BadLead, BadNotification, FailureKind, LeadNotice
from tests.lead_ads_examples import (
    META_LEAD,
    META_LEADGEN_ID,
    META_RATE_LIMITED,
    META_TOKEN_ERROR,
    META_UNKNOWN_LEAD,
    META_WEBHOOK,
    copied,
)

SECRET = "app-secret"
ADS = meta.MetaLeadAds(graph_url="https://graph.example/v21.0/", app_secret=SECRET)
NOTICE = LeadNotice("meta", META_LEADGEN_ID, "12312312312", {"page_id": "153125381133"})


def header(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_signature_is_checked_on_the_raw_bytes_as_received() -> None:
    body = b'{"object": "page",  "entry": []}'  # spacing Meta chose; re-serialising would change it
    assert meta.signature_matches(SECRET, header(body), body)
    assert meta.signature_matches(SECRET, header(body).upper().replace("SHA256=", "sha256="), body)
    assert not meta.signature_matches(SECRET, header(json.dumps(json.loads(body)).encode()), body)
    assert not meta.signature_matches(SECRET, header(body, "other"), body)
    assert not meta.signature_matches(SECRET, header(body).replace("sha256=", "sha1="), body)
    assert not meta.signature_matches(SECRET, None, body)
    assert not meta.signature_matches(SECRET, "", body)


def test_the_handshake_echoes_the_challenge_only_for_a_subscription_with_our_token() -> None:
    assert meta.challenge(mode="subscribe", verify_token="tok", challenge_value="1158201444", expected="tok") \
        == "1158201444"
    for mode, token, value in (("subscribe", "nope", "1"), ("unsubscribe", "tok", "1"), (None, "tok", "1"),
                               ("subscribe", None, "1"), ("subscribe", "tok", None)):
        with pytest.raises(meta.VerificationRefused):
            meta.challenge(mode=mode, verify_token=token, challenge_value=value, expected="tok")


def test_the_documented_webhook_gives_one_notice_with_its_ids_as_strings() -> None:
    [notice] = meta.notices(copied(META_WEBHOOK))
    assert notice.provider == "meta" and notice.provider_lead_id == META_LEADGEN_ID
    assert notice.form_id == "12312312312"
    assert notice.details == {"page_id": "153125381133", "form_id": "12312312312", "ad_id": "12312312312",
                              "adgroup_id": "12312312312", "created_time": "1440120384"}


def test_other_objects_and_fields_are_ignored_and_a_batch_gives_every_lead() -> None:
    payload = copied(META_WEBHOOK)
    second = copied(META_WEBHOOK["entry"][0])
    second["changes"][0]["value"]["leadgen_id"] = "555"
    second["changes"].append({"field": "feed", "value": {"item": "status"}})
    payload["entry"].append(second)
    assert [n.provider_lead_id for n in meta.notices(payload)] == [META_LEADGEN_ID, "555"]
    assert meta.notices({"object": "user", "entry": [{"changes": [{"field": "leadgen"}]}]}) == []


@pytest.mark.parametrize(("payload", "field"), [
    ([], "body"),
    ({"object": "page"}, "entry"),
    ({"object": "page", "entry": [{"id": "1"}]}, "entry.0.changes"),
    ({"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {}}]}]},
     "entry.0.changes.0.value.leadgen_id"),
    ({"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": True}}]}]},
     "entry.0.changes.0.value.leadgen_id"),
    ({"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": "x"}]}]}, "entry.0.changes.0.value"),
])
def test_a_malformed_leadgen_change_names_the_field(payload: object, field: str) -> None:
    with pytest.raises(BadNotification) as refused:
        meta.notices(payload)
    assert refused.value.field == field


def test_the_fetch_asks_the_graph_api_for_the_lead_with_the_token_and_the_app_secret_proof() -> None:
    request = ADS.fetch_request(NOTICE, token="page-token")
    assert request.url == f"https://graph.example/v21.0/{META_LEADGEN_ID}"
    assert request.params["access_token"] == "page-token"
    assert set(request.params["fields"].split(",")) >= {"created_time", "field_data", "form_id", "ad_id",
                                                         "campaign_name"}
    assert request.params["appsecret_proof"] == hmac.new(SECRET.encode(), b"page-token", hashlib.sha256).hexdigest()
    assert "page-token" not in repr(request)


def test_the_documented_lead_becomes_a_submission() -> None:
    submission = ADS.submission(NOTICE, copied(META_LEAD))
    assert submission.provider == "meta" and submission.provider_lead_id == META_LEADGEN_ID
    assert submission.form_id == "12312312312"
    assert submission.submitted_at == datetime(2015, 2, 28, 8, 49, 14, tzinfo=UTC)
    assert submission.campaign == "Spring demo push"
    assert [(a.key, a.value) for a in submission.answers] == [
        ("car_make", "Honda"), ("full_name", "Joe Example"), ("email", "joe@example.com"),
        ("selected_dealer", "99213450")]
    assert submission.hidden["ad_id"] == "12312312312"
    assert submission.is_test is False


def test_several_values_are_joined_and_empty_ones_dropped() -> None:
    lead = copied(META_LEAD)
    lead["field_data"] = [{"name": "interests", "values": ["a", "", "b"]}, {"name": "empty", "values": []}]
    assert [(a.key, a.value) for a in ADS.submission(NOTICE, lead).answers] == [("interests", "a, b")]


@pytest.mark.parametrize("lead", [[], {"id": "1"}, {"field_data": [{"values": ["x"]}]},
                                  {"field_data": [], "created_time": "last tuesday"}])
def test_a_lead_without_the_documented_shape_is_refused(lead: object) -> None:
    with pytest.raises(BadLead):
        ADS.submission(NOTICE, lead)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (500, None, FailureKind.TRANSIENT),
    (503, {"error": {"code": 2, "message": "Service temporarily unavailable"}}, FailureKind.TRANSIENT),
    (400, META_RATE_LIMITED, FailureKind.TRANSIENT),
    (400, {"error": {"code": 4, "type": "OAuthException"}}, FailureKind.TRANSIENT),
    (400, {"error": {"code": 1, "is_transient": True}}, FailureKind.TRANSIENT),
    (400, META_TOKEN_ERROR, FailureKind.AUTH),
    (403, {"error": {"code": 200, "type": "OAuthException"}}, FailureKind.AUTH),
    (400, {"error": {"code": 10}}, FailureKind.AUTH),
    (400, META_UNKNOWN_LEAD, FailureKind.INVALID),
    (404, "not json", FailureKind.INVALID),
])
def test_graph_errors_say_whether_to_retry(status: int, body: object, kind: FailureKind) -> None:
    failure = ADS.failure(status, body)
    assert failure.kind is kind
    assert failure.reason.startswith(f"HTTP {status}")
    assert "expired" not in failure.reason and "does not exist" not in failure.reason  # codes, not messages


def test_the_reason_names_the_graph_code() -> None:
    assert ADS.failure(400, META_TOKEN_ERROR).reason == "HTTP 400, Graph error 190/463 (OAuthException)"
