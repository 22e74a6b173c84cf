"""Each provider's documented payload becomes a submission; signatures are checked on the raw bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.signatures import SignatureRejected
from intake.sources import google_ads, tally, typeform, zuddl
from intake.sources.accept import SourceLeadInvalid, source_lead
from intake.sources.mapping import REPO_ROOT, load_mapping
from tests import source_payloads as docs

MAPPING = load_mapping(REPO_ROOT / "config" / "sources.yaml")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def test_typeform_signature_is_base64_hmac_of_the_raw_body_with_a_prefix() -> None:
    raw = docs.body(docs.typeform())
    typeform.verify(docs.typeform_signature("s3cret", raw), raw, "s3cret")
    for forged in (None, "", docs.typeform_signature("other", raw), docs.typeform_signature("s3cret", raw + b" "),
                   docs.tally_signature("s3cret", raw)):
        with pytest.raises(SignatureRejected):
            typeform.verify(forged, raw, "s3cret")


def test_the_documented_typeform_response_maps_answers_hidden_fields_and_submit_time() -> None:
    submission = typeform.parse(docs.typeform())
    assert submission is not None
    assert (submission.provider_lead_id, submission.form_id, submission.campaign) == (
        "a3a12ec67a1365927098a606107fac15", "lT4Z3j", "Webhooks example")
    assert submission.submitted_at == datetime(2018, 1, 18, 18, 17, 2, tzinfo=UTC)
    lead = source_lead(submission, mapping=MAPPING, now=NOW)
    assert (lead.email, lead.phone, lead.source) == ("laura@example.com", "+14155550134", "typeform")
    assert (lead.utm_source, lead.utm_campaign) == ("newsletter", "winter-2026")
    assert lead.notes is not None
    assert "What is your first name?: Laura" in lead.notes
    assert "Which pictures do you like? You can choose as many as you like.: London, Sydney" in lead.notes
    assert "Which of these cities is your favorite?: London" in lead.notes
    assert "user_id: abc123456" in lead.notes


def test_other_typeform_events_are_ignored_and_a_response_without_token_is_refused() -> None:
    assert typeform.parse({"event_type": "form_partial_response", "form_response": {}}) is None
    payload = docs.typeform()
    del payload["form_response"]["token"]
    with pytest.raises(SourceLeadInvalid) as caught:
        typeform.parse(payload)
    assert caught.value.errors[0]["field"] == "form_response.token"


def test_tally_signature_is_base64_hmac_of_the_raw_body() -> None:
    raw = docs.body(docs.tally())
    tally.verify(docs.tally_signature("s3cret", raw), raw, "s3cret")
    with pytest.raises(SignatureRejected):
        tally.verify(docs.typeform_signature("s3cret", raw), raw, "s3cret")
    with pytest.raises(SignatureRejected):
        tally.verify(None, raw, "s3cret")


def test_the_documented_tally_response_maps_by_type_and_label_and_names_choices() -> None:
    submission = tally.parse(docs.tally())
    assert submission is not None
    assert (submission.provider_lead_id, submission.form_id, submission.campaign) == ("2wgx4n", "VwbNEw",
                                                                                      "Webhook payload")
    assert dict(submission.hidden) == {"utm_source": "newsletter"}
    lead = source_lead(submission, mapping=MAPPING, now=NOW)
    assert (lead.email, lead.phone, lead.first_name, lead.last_name) == (
        "alice@example.com", "+32470123456", "Alice", "Martin")
    assert lead.captured_at == datetime(2023, 6, 28, 15, 0, 21, tzinfo=UTC) and lead.utm_source == "newsletter"
    assert lead.notes == "Company size: 51-200\nInterests: Routing, SLA alerts"


def test_google_ads_key_is_compared_in_the_body_and_the_sample_lead_maps_by_column_id() -> None:
    google_ads.verify(docs.google_ads_documented(), "test")
    for payload in (docs.google_ads(key="wrong"), {"lead_id": "x"}, [], "text"):
        with pytest.raises(SignatureRejected):
            google_ads.verify(payload, "test")
    submission = google_ads.parse(docs.google_ads_documented())
    assert submission.is_test and submission.form_id == "40000000000" and submission.campaign == "50000000000"
    lead = source_lead(submission, mapping=MAPPING, now=NOW)
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "FirstName", "LastName", "test@example.com", "1-650-555-0123")
    assert lead.captured_at == datetime(2024, 9, 26, 12, 30, tzinfo=UTC)
    assert lead.notes is not None and "City: Mountain View" in lead.notes and "gclid: TeSter-123" in lead.notes


def test_zuddl_token_is_compared_and_lead_added_maps_the_lead_and_its_event() -> None:
    zuddl.verify("tok", "tok")
    for forged in (None, "", "tok2"):
        with pytest.raises(SignatureRejected):
            zuddl.verify(forged, "tok")
    submission = zuddl.parse(docs.zuddl())
    assert submission is not None and submission.form_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    lead = source_lead(submission, mapping=MAPPING, now=NOW)
    assert (lead.first_name, lead.last_name, lead.email, lead.title, lead.company) == (
        "John", "Doe", "john.doe@example.com", "Product Manager", "Acme Corp")
    assert (lead.campaign, lead.event, lead.intent, lead.source) == (
        "Huddle with zuddl.", "Huddle with zuddl.", "booth_visit", "zuddl")
    assert lead.captured_at == datetime(2025, 4, 7, 9, 57, 55, 826749, tzinfo=UTC)
    assert lead.notes == ("Notes: Interested in product demo\nRating: 5\nLead status: QUALIFIED\n"
                          "Lead owner: John Wick\nHow satisfied are you with the event?: Excellent")


def test_zuddl_actions_other_than_lead_added_are_ignored() -> None:
    assert zuddl.parse({**docs.zuddl(), "action": "REGISTRATION_APPROVED"}) is None
