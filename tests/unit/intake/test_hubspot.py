"""HubSpot: signature v3 as documented, the URI as HubSpot signs it, and each documented event mapped."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from intake.crm import Skipped, hubspot
from intake.identity import CrmActivity

# HubSpot's own test vector for v3 (hubspot-api-python, tests/spec/utils/test_signature.py).
SDK_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
SDK_BODY = b"{'example_field':'example_value'}"
SDK_URI = "https://www.example.com/webhook_uri"
SDK_TIMESTAMP = "15000000"
SDK_SIGNATURE = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="

# The example batch of HubSpot's webhooks documentation, with the property this adapter subscribes to.
DOCUMENTED_EVENT: dict[str, Any] = {
    "objectId": 1246965, "propertyName": "lifecyclestage", "propertyValue": "subscriber", "changeSource": "ACADEMY",
    "eventId": 3816279340, "subscriptionId": 25, "portalId": 33, "appId": 1160452, "occurredAt": 1462216307945,
    "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
}
LAST_CONTACTED = {**DOCUMENTED_EVENT, "propertyName": "notes_last_contacted", "propertyValue": "1462216300000"}
CALL_CREATED = {"eventId": 2145459286, "subscriptionId": 3849706, "portalId": 33, "appId": 1160452,
                "occurredAt": 1462216307945, "subscriptionType": "object.creation", "attemptNumber": 0,
                "objectId": 51234, "objectTypeId": "0-48", "changeFlag": "CREATED", "changeSource": "CRM_UI",
                "sourceId": "userId:75514748"}


def _independent(secret: str, source: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def test_the_signature_matches_hubspots_own_test_vector() -> None:
    assert hubspot.signature(SDK_SECRET, method="POST", uri=SDK_URI, body=SDK_BODY,
                             timestamp=SDK_TIMESTAMP) == SDK_SIGNATURE
    hubspot.verify(SDK_SECRET, method="POST", uri=SDK_URI, body=SDK_BODY, timestamp=SDK_TIMESTAMP,
                   given=SDK_SIGNATURE, now_ms=15000000 + 299_000)


@pytest.mark.parametrize("encoded, decoded", [
    ("https://a.example/hook?x=1%3A2%2F3", "https://a.example/hook?x=1:2/3"),
    ("https://a.example/h?q=%3f%40%21%24%27%28%29%2a%2c%3b", "https://a.example/h?q=?@!$'()*,;"),
    # Everything else stays encoded: a space, a percent sign, an ampersand, a plus.
    ("https://a.example/h?q=a%20b%25c%26d%2Be", "https://a.example/h?q=a%20b%25c%26d%2Be"),
])
def test_only_the_escapes_hubspot_lists_are_decoded_before_signing(encoded: str, decoded: str) -> None:
    assert hubspot.signed_uri(encoded) == decoded
    expected = _independent("s", b"POST" + decoded.encode() + b"[]" + b"1700000000000")
    assert hubspot.signature("s", method="POST", uri=encoded, body=b"[]", timestamp="1700000000000") == expected


@pytest.mark.parametrize("timestamp, given, now_ms, problem", [
    (None, SDK_SIGNATURE, 15000000, "required"),
    (SDK_TIMESTAMP, None, 15000000, "required"),
    (SDK_TIMESTAMP, SDK_SIGNATURE, 15000000 + 300_001, "5 minutes"),
    (SDK_TIMESTAMP, SDK_SIGNATURE, 15000000 - 300_001, "5 minutes"),
    ("15000000.5", SDK_SIGNATURE, 15000000, "milliseconds"),
    (SDK_TIMESTAMP, SDK_SIGNATURE[:-2] + "A=", 15000000, "does not match"),
    ("15000001", SDK_SIGNATURE, 15000000, "does not match"),
])
def test_a_missing_stale_future_or_forged_signature_is_rejected(timestamp: str | None, given: str | None,
                                                                 now_ms: int, problem: str) -> None:
    with pytest.raises(hubspot.SignatureRejected, match=problem):
        hubspot.verify(SDK_SECRET, method="POST", uri=SDK_URI, body=SDK_BODY, timestamp=timestamp, given=given,
                       now_ms=now_ms)


def test_a_last_contacted_change_is_an_outbound_touch_at_the_time_it_holds() -> None:
    activity = hubspot.parse_event(LAST_CONTACTED)
    assert activity == CrmActivity(
        crm="hubspot", external_id="1246965", activity_id="hubspot:33:contact:1246965:notes_last_contacted:"
        "1462216307945", type="call", direction="outbound",
        occurred_at=datetime(2016, 5, 2, 19, 11, 40, tzinfo=UTC), outcome="notes_last_contacted")


def test_without_a_readable_value_the_touch_is_dated_when_the_event_occurred_and_a_cleared_one_is_skipped() -> None:
    missing = {k: v for k, v in LAST_CONTACTED.items() if k != "propertyValue"}
    activity = hubspot.parse_event(missing)
    assert isinstance(activity, CrmActivity)
    assert activity.occurred_at == datetime.fromtimestamp(1462216307.945, tz=UTC)
    assert isinstance(hubspot.parse_event({**LAST_CONTACTED, "propertyValue": ""}), Skipped)


def test_the_generic_contact_property_change_maps_like_the_legacy_one_and_dedupes_with_it() -> None:
    generic = {**LAST_CONTACTED, "subscriptionType": "object.propertyChange", "objectTypeId": "0-1"}
    assert hubspot.parse_event(generic) == hubspot.parse_event(LAST_CONTACTED)


def test_an_owner_change_is_recorded_as_a_status_change_naming_the_new_owner() -> None:
    activity = hubspot.parse_event({**DOCUMENTED_EVENT, "propertyName": "hubspot_owner_id", "propertyValue": "777"})
    assert isinstance(activity, CrmActivity)
    assert (activity.type, activity.status, activity.rep_id, activity.outcome, activity.direction) == (
        "status_change", "owner_changed", "777", "777", None)


def test_the_dedupe_key_is_composite_because_event_ids_repeat() -> None:
    first = hubspot.parse_event(LAST_CONTACTED)
    same_event_id_later = hubspot.parse_event({**LAST_CONTACTED, "occurredAt": 1462216399999})
    other_contact = hubspot.parse_event({**LAST_CONTACTED, "objectId": 1246978})
    other_portal = hubspot.parse_event({**LAST_CONTACTED, "portalId": 34})
    retried = hubspot.parse_event({**LAST_CONTACTED, "attemptNumber": 3, "eventId": 1})
    ids = [a.activity_id for a in (first, same_event_id_later, other_contact, other_portal, retried)
           if isinstance(a, CrmActivity)]
    assert len(ids) == 5 and len(set(ids)) == 4 and ids[0] == ids[4]


def test_other_events_are_skipped_and_malformed_ones_rejected_alone() -> None:
    parsed = hubspot.parse_batch([
        DOCUMENTED_EVENT,  # lifecyclestage: not recorded
        {**DOCUMENTED_EVENT, "subscriptionType": "contact.creation"},
        "not an object",
        {**LAST_CONTACTED, "objectId": "12ab"},
        {**LAST_CONTACTED, "occurredAt": "yesterday"},
        {k: v for k, v in LAST_CONTACTED.items() if k != "subscriptionType"},
        LAST_CONTACTED,
    ])
    assert [type(p).__name__ for p in parsed] == [
        "Skipped", "Skipped", "Rejected", "Rejected", "Rejected", "Rejected", "CrmActivity"]
    assert [p.index for p in parsed if isinstance(p, hubspot.Rejected)] == [2, 3, 4, 5]
    assert "objectId" in parsed[3].message and "12ab" not in parsed[3].message  # type: ignore[union-attr]


def test_a_created_call_email_or_meeting_needs_a_lookup() -> None:
    created = hubspot.parse_event(CALL_CREATED)
    assert created == hubspot.EngagementCreated(object_type="calls", object_id="51234", portal_id="33",
                                                occurred_at=datetime.fromtimestamp(1462216307.945, tz=UTC))
    assert isinstance(hubspot.parse_event({**CALL_CREATED, "objectTypeId": "0-49"}), hubspot.EngagementCreated)
    assert isinstance(hubspot.parse_event({**CALL_CREATED, "objectTypeId": "0-47"}), hubspot.EngagementCreated)
    assert isinstance(hubspot.parse_event({**CALL_CREATED, "objectTypeId": "0-46"}), Skipped)  # a note


def _created(object_type: hubspot.EngagementType) -> hubspot.EngagementCreated:
    return hubspot.EngagementCreated(object_type=object_type, object_id="51234", portal_id="33",
                                     occurred_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


def test_an_engagement_maps_to_one_activity_per_contact_with_its_direction_time_and_owner() -> None:
    activities = hubspot.engagement_activities(_created("calls"), ["901", "902"], {
        "hs_call_direction": "OUTBOUND", "hs_timestamp": "2026-11-27T08:59:30.000Z", "hubspot_owner_id": "41",
        "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7"})
    assert isinstance(activities, list)
    assert [(a.external_id, a.activity_id) for a in activities] == [
        ("901", "hubspot:33:calls:51234:contact:901"), ("902", "hubspot:33:calls:51234:contact:902")]
    assert {(a.type, a.direction, a.rep_id, a.occurred_at) for a in activities} == {
        ("call", "outbound", "41", datetime(2026, 11, 27, 8, 59, 30, tzinfo=UTC))}


@pytest.mark.parametrize("object_type, properties, expected", [
    ("emails", {"hs_email_direction": "EMAIL"}, ("email", "outbound")),
    ("emails", {"hs_email_direction": "INCOMING_EMAIL"}, ("email", "inbound")),
    ("emails", {"hs_email_direction": "FORWARDED_EMAIL"}, None),
    ("emails", {}, None),
    ("calls", {"hs_call_direction": "INBOUND"}, ("call", "inbound")),
    ("calls", {}, ("call", "outbound")),
    ("meetings", {"hs_meeting_outcome": "SCHEDULED"}, ("meeting", "outbound")),
    ("meetings", {"hs_meeting_source": "MEETINGS_PUBLIC"}, ("meeting", "inbound")),
])
def test_directions_are_mapped_faithfully_and_an_inbound_email_is_no_touch(
        object_type: hubspot.EngagementType, properties: dict[str, str], expected: tuple[str, str] | None) -> None:
    mapped = hubspot.engagement_activities(_created(object_type), ["901"], properties)
    if expected is None:
        assert isinstance(mapped, Skipped)
        return
    assert isinstance(mapped, list)
    [activity] = mapped
    assert (activity.type, activity.direction) == expected
    assert activity.occurred_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # no hs_timestamp: the event's time


def test_an_engagement_without_contacts_is_skipped() -> None:
    assert isinstance(hubspot.engagement_activities(_created("calls"), [], {}), Skipped)
