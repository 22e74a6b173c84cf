"""Salesforce Outbound Messages: the SOAP envelope as documented, mapped faithfully; DTDs refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from intake.crm import BadPayload, Skipped
from intake.crm.salesforce import ACK, Notification, id18, parse, same_org, to_activity
from intake.identity import CrmActivity
from tests.unit.intake.crm_examples import (
    SF_EMAIL_TASK,
    SF_EVENT,
    SF_LEAD_ID,
    SF_ORG_ID,
    SF_OWNER_ID,
    XML_BOMB,
    sf_envelope,
    sf_logged_call,
    sf_notification,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _mapped(*notifications: str) -> list[CrmActivity | Skipped]:
    return [to_activity(n, now=NOW) for n in parse(sf_envelope(*notifications)).notifications]


def test_a_logged_outbound_call_is_an_outbound_call_touch_at_its_completion_time() -> None:
    message = parse(sf_envelope(sf_notification("04lxx0000000001AAA", "Task", sf_logged_call())))
    assert message.organization_id == SF_ORG_ID
    [notification] = message.notifications
    assert isinstance(notification, Notification) and notification.sobject_type == "Task"
    activity = to_activity(notification, now=NOW)
    assert activity == CrmActivity(
        crm="salesforce", external_id=SF_LEAD_ID, activity_id="salesforce:00Txx000003DIkSEAW", type="call",
        direction="outbound", occurred_at=datetime(2026, 11, 27, 9, 30, 11, tzinfo=UTC), rep_id=SF_OWNER_ID,
        outcome="Left voicemail", status="Completed")


def test_call_direction_follows_call_type_and_an_unset_one_is_the_rep_calling() -> None:
    inbound, internal, unset = _mapped(
        sf_notification("04l1", "Task", sf_logged_call("00T1", call_type="Inbound")),
        sf_notification("04l2", "Task", sf_logged_call("00T2", call_type="Internal")),
        sf_notification("04l3", "Task", sf_logged_call("00T3", call_type=None)))
    assert isinstance(inbound, CrmActivity) and (inbound.type, inbound.direction) == ("call", "inbound")
    assert isinstance(internal, CrmActivity) and (internal.type, internal.direction) == ("note", None)
    assert isinstance(unset, CrmActivity) and (unset.type, unset.direction) == ("call", "outbound")


def test_an_email_task_is_an_outbound_email_and_an_event_a_meeting_at_its_start() -> None:
    email, event = _mapped(sf_notification("04l1", "Task", SF_EMAIL_TASK), sf_notification("04l2", "Event", SF_EVENT))
    assert isinstance(email, CrmActivity) and (email.type, email.direction) == ("email", "outbound")
    assert email.occurred_at == datetime(2026, 11, 27, 9, 41, tzinfo=UTC)  # LastModifiedDate: no CompletedDateTime
    assert isinstance(event, CrmActivity) and (event.type, event.direction) == ("meeting", "outbound")
    assert event.occurred_at == datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert event.activity_id == "salesforce:00Uxx000001kNpzEAE"


def test_a_task_not_completed_another_object_or_no_who_is_skipped_not_refused() -> None:
    open_task, account, no_who, no_sobject = _mapped(
        sf_notification("04l1", "Task", sf_logged_call(status="Not Started")),
        sf_notification("04l2", "Account", {"Id": "001xx", "Name": "Acme"}),
        sf_notification("04l3", "Task", {**sf_logged_call(), "WhoId": None}),
        "<Notification><Id>04l4</Id></Notification>")
    assert all(isinstance(item, Skipped) for item in (open_task, account, no_who, no_sobject))
    assert "not completed" in open_task.reason and "Account" in account.reason  # type: ignore[union-attr]
    assert "WhoId" in no_who.reason  # type: ignore[union-attr]


def test_without_any_time_field_the_arrival_time_is_used_and_a_bad_time_skips_only_that_notification() -> None:
    bare = {"Id": "00T9", "WhoId": SF_LEAD_ID, "TaskSubtype": "Call", "Status": "Completed"}
    good, bad = _mapped(sf_notification("04l1", "Task", bare),
                        sf_notification("04l2", "Task", {**bare, "Id": "00T8", "CompletedDateTime": "soon"}))
    assert isinstance(good, CrmActivity) and good.occurred_at == NOW
    assert isinstance(bad, Skipped) and "CompletedDateTime" in bad.reason


def test_a_dtd_or_entity_bomb_is_refused_before_expansion() -> None:
    started = time.perf_counter()
    with pytest.raises(BadPayload) as refused:
        parse(XML_BOMB)
    assert refused.value.field == "body" and time.perf_counter() - started < 0.5
    with pytest.raises(BadPayload):
        parse(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')


@pytest.mark.parametrize(("body", "field"), [
    (b"not xml", "body"),
    (b"<a/>", "Envelope"),
    (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>', "notifications"),
    (sf_envelope(org_id=""), "OrganizationId"),
])
def test_a_body_that_is_not_a_notifications_envelope_names_what_is_wrong(body: bytes, field: str) -> None:
    with pytest.raises(BadPayload) as refused:
        parse(body)
    assert refused.value.field == field


def test_org_ids_compare_across_their_15_and_18_character_forms() -> None:
    assert same_org("00Dxx0000001gER", SF_ORG_ID) and same_org(SF_ORG_ID, "00Dxx0000001gER")
    assert same_org(SF_ORG_ID, SF_ORG_ID[:15] + SF_ORG_ID[15:].lower())
    assert not same_org("00Dxx0000001gEr", SF_ORG_ID)  # the 15 characters are case-sensitive
    assert not same_org("00Dxx0000002gERAAY", SF_ORG_ID) and not same_org("", SF_ORG_ID)


def test_a_15_character_id_gets_its_documented_18_character_form_and_a_15_character_who_id_is_widened() -> None:
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # the example in Salesforce's help on 15/18 ids
    assert id18(SF_ORG_ID) == SF_ORG_ID == id18(SF_ORG_ID[:15]) and id18("lead_x") == "lead_x"
    [activity] = _mapped(sf_notification("04l1", "Task", {**sf_logged_call(), "WhoId": SF_LEAD_ID[:15]}))
    assert isinstance(activity, CrmActivity) and activity.external_id == id18(SF_LEAD_ID[:15])


def test_a_15_character_salesforce_id_given_at_intake_is_kept_in_its_18_character_form() -> None:
    from intake.normalize import LeadSubmission

    lead = LeadSubmission.model_validate({"email": "ana@example.com", "source": "web_form",
                                          "external_ids": {"salesforce": SF_LEAD_ID[:15], "close": "lead_x"}})
    assert lead.external_ids == {"salesforce": SF_LEAD_ID, "close": "lead_x"}


def test_the_ack_is_the_documented_notifications_response() -> None:
    from xml.etree.ElementTree import fromstring

    root = fromstring(ACK)
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    [body] = list(root)
    [response] = list(body)
    assert response.tag == "{http://soap.sforce.com/2005/09/outbound}notificationsResponse"
    [ack] = list(response)
    assert ack.tag == "{http://soap.sforce.com/2005/09/outbound}Ack" and ack.text == "true"
