"""Close webhooks: the documented signature, and created calls, emails, texts and meetings mapped."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from intake.crm import BadPayload, Skipped
from intake.crm.close import KeyNotHex, SignatureRejected, to_activity, verify
from intake.identity import CrmActivity
from tests.unit.intake.crm_examples import CLOSE_LEAD_ID, CLOSE_USER_ID, close_event

KEY = "6465762d636c6f73652d6b6579"
BODY = b'{"event": {}}'


def _sig(timestamp: str, body: bytes = BODY, key: str = KEY) -> str:
    return hmac.new(bytes.fromhex(key), timestamp.encode() + body, hashlib.sha256).hexdigest()


def test_the_documented_signature_is_accepted_and_a_forged_or_stale_one_refused() -> None:
    verify(KEY, timestamp="1764235812", given=_sig("1764235812"), body=BODY, now=1764235900, tolerance_seconds=300)
    verify(KEY, timestamp="1764235812", given=_sig("1764235812").upper(), body=BODY, now=1764235812,
           tolerance_seconds=300)
    for timestamp, given, now in [("1764235812", _sig("1764235812", b"{}"), 1764235812),
                                  ("1764235812", _sig("1764235812", key="00"), 1764235812),
                                  ("1764235812", _sig("1764235812"), 1764235812 + 301),
                                  ("soon", _sig("soon"), 1764235812), (None, "x", 1764235812)]:
        with pytest.raises(SignatureRejected):
            verify(KEY, timestamp=timestamp, given=given, body=BODY, now=now, tolerance_seconds=300)
    with pytest.raises(KeyNotHex):
        verify("not hex", timestamp="1", given="00", body=BODY, now=1, tolerance_seconds=300)


def test_a_created_outbound_call_is_a_touch_at_its_activity_time() -> None:
    assert to_activity(close_event()) == CrmActivity(
        crm="close", external_id=CLOSE_LEAD_ID, activity_id="close:ev_2sYKRjcrA79yKxi3S4Crd7", type="call",
        direction="outbound", occurred_at=datetime(2026, 11, 27, 9, 29, 29, tzinfo=UTC), rep_id=CLOSE_USER_ID,
        outcome="vm-left", status="completed")


def test_inbound_calls_emails_and_texts_are_recorded_as_inbound() -> None:
    call = to_activity(close_event(direction="inbound"))
    email = to_activity(close_event("activity.email", direction="incoming", status="inbox"))
    sms = to_activity(close_event("activity.sms", direction="inbound", status="inbox"))
    for item, kind in ((call, "call"), (email, "email"), (sms, "sms")):
        assert isinstance(item, CrmActivity) and (item.type, item.direction) == (kind, "inbound")


def test_an_outgoing_email_counts_once_sent_created_sent_or_updated_to_sent() -> None:
    sent = to_activity(close_event("activity.email", direction="outgoing", status="sent",
                                   date_sent="2026-11-27T09:31:00+00:00"))
    assert isinstance(sent, CrmActivity) and (sent.type, sent.direction) == ("email", "outbound")
    assert sent.occurred_at == datetime(2026, 11, 27, 9, 31, tzinfo=UTC)
    draft = to_activity(close_event("activity.email", direction="outgoing", status="outbox"))
    assert isinstance(draft, Skipped)
    went_out = close_event("activity.email", event_id="ev_2", action="updated", direction="outgoing", status="sent",
                           date_updated="2026-11-27T09:35:00+00:00")
    went_out["event"]["previous_data"] = {"status": "outbox"}
    updated = to_activity(went_out)
    assert isinstance(updated, CrmActivity) and updated.occurred_at == datetime(2026, 11, 27, 9, 35, tzinfo=UTC)
    edited = close_event("activity.email", action="updated", direction="outgoing", status="sent")
    edited["event"]["previous_data"] = {"subject": "old"}
    assert isinstance(to_activity(edited), Skipped)


def test_a_meeting_is_an_outbound_meeting_at_its_start_unless_canceled() -> None:
    meeting = to_activity(close_event("activity.meeting", status="upcoming", starts_at="2026-11-28T15:00:00+00:00"))
    assert isinstance(meeting, CrmActivity) and (meeting.type, meeting.direction) == ("meeting", "outbound")
    assert meeting.occurred_at == datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert isinstance(to_activity(close_event("activity.meeting", status="canceled")), Skipped)


def test_other_objects_actions_and_leadless_activities_are_skipped() -> None:
    assert isinstance(to_activity(close_event("opportunity")), Skipped)
    assert isinstance(to_activity(close_event(action="deleted")), Skipped)
    no_lead = close_event(lead_id=None)
    del no_lead["event"]["data"]["lead_id"]
    assert isinstance(to_activity(no_lead), Skipped)


def test_close_event_times_without_an_offset_are_utc() -> None:
    payload = close_event()
    for name in ("activity_at", "date_created"):
        del payload["event"]["data"][name]
    activity = to_activity(payload)
    assert isinstance(activity, CrmActivity)
    assert activity.occurred_at == datetime(2026, 11, 27, 9, 30, 12, 395000, tzinfo=UTC)


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "event"), ({"event": {"object_type": "activity.call", "action": "created"}}, "event.id"),
    ({"event": {"id": "ev_1", "action": "created"}}, "event.object_type"),
    (close_event(direction="sideways"), "event.data.direction"),
    (close_event(activity_at="yesterday"), "event.data.activity_at"),
])
def test_a_malformed_event_names_the_field(payload: object, field: str) -> None:
    with pytest.raises(BadPayload) as refused:
        to_activity(payload)
    assert refused.value.field == field
