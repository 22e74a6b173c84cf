"""Salesforce Outbound Messages over real HTTP on a real database: stored, queued as ``activity.recorded`` for
the lead whose ``external_ids.salesforce`` is the WhoId, acknowledged with exactly the documented
``notificationsResponse``; refused (nothing stored) with a wrong token or org, a DTD, or when unset."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from intake import tables
from intake.crm.salesforce import ACK
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows
from tests.integration.intake.crm_support import (
    SF_TOKEN,
    drop_activity_tables,
    new_lead,
    recorded_events,
    running_crm_intake,
)
from tests.unit.intake.crm_examples import (
    SF_EMAIL_TASK,
    SF_LEAD_ID,
    XML_BOMB,
    sf_envelope,
    sf_logged_call,
    sf_notification,
)

XML = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
PATH = f"/v1/integrations/salesforce/{SF_TOKEN}"


@pytest.fixture
async def crm_intake(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    async with running_crm_intake(databases, kafka_bootstrap) as running:
        yield running

#: The acknowledgement as Salesforce documents it, written out here (not taken from the code under test).
DOCUMENTED_ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    b"<soapenv:Body>\n"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n'
    b"<Ack>true</Ack>\n"
    b"</notificationsResponse>\n"
    b"</soapenv:Body>\n"
    b"</soapenv:Envelope>\n")


def _message() -> bytes:
    return sf_envelope(
        sf_notification("04lxx0000000001AAA", "Task", sf_logged_call()),
        sf_notification("04lxx0000000002AAA", "Task", SF_EMAIL_TASK),
        sf_notification("04lxx0000000003AAA", "Task", sf_logged_call("00Txx0000099999AAA", status="Not Started")),
        sf_notification("04lxx0000000004AAA", "Account", {"Id": "001xx000003DGb2AAG"}),
        sf_notification("04lxx0000000005AAA", "Task", {**sf_logged_call("00Txx0000077777AAA"),
                                                       "CompletedDateTime": "not a date"}))


async def test_a_documented_message_is_stored_queued_and_acknowledged_exactly_once(crm_intake: Intake) -> None:
    lead_id = await new_lead(crm_intake, "ana@example.com", salesforce=SF_LEAD_ID)
    first = await crm_intake.http.post(PATH, content=_message(), headers=XML)
    assert first.status_code == 200 and first.content == DOCUMENTED_ACK == ACK
    assert first.headers["content-type"].startswith("text/xml")

    events = await recorded_events(crm_intake)
    assert [(e["data"]["activity_id"], e["data"]["type"], e["data"]["direction"], e["subject"]) for e in events] == [
        ("salesforce:00Txx000003DIkSEAW", "call", "outbound", lead_id),
        ("salesforce:00Txx000003DIkTEAW", "email", "outbound", lead_id)]
    assert events[0]["data"]["lead_id"] == lead_id and events[0]["data"]["occurred_at"].startswith(
        "2026-11-27T09:30:11")

    again = await crm_intake.http.post(PATH, content=_message(), headers=XML)
    assert again.status_code == 200 and again.content == DOCUMENTED_ACK
    assert len(await recorded_events(crm_intake)) == 2 and await count_rows(crm_intake, tables.activities) == 2


async def test_a_full_message_of_100_notifications_beyond_the_default_body_limit_is_stored(
        crm_intake: Intake) -> None:
    await new_lead(crm_intake, "ed@example.com", salesforce=SF_LEAD_ID)
    body = sf_envelope(*(sf_notification(f"04lxx{n:013d}", "Task", sf_logged_call(f"00Txx{n:013d}"))
                         for n in range(100)))
    assert len(body) > crm_intake.settings.intake_max_body_bytes
    answer = await crm_intake.http.post(PATH, content=body, headers=XML)
    assert answer.content == DOCUMENTED_ACK and await count_rows(crm_intake, tables.activities) == 100


async def test_an_inbound_call_is_stored_but_is_not_a_touch(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "bo@example.com", salesforce=SF_LEAD_ID)
    answer = await crm_intake.http.post(PATH, headers=XML, content=sf_envelope(
        sf_notification("04l1", "Task", sf_logged_call(call_type="Inbound"))))
    assert answer.content == DOCUMENTED_ACK
    [event] = await recorded_events(crm_intake)
    assert (event["data"]["type"], event["data"]["direction"]) == ("call", "inbound")


async def test_a_wrong_token_or_org_is_refused_and_nothing_is_stored(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "cy@example.com", salesforce=SF_LEAD_ID)
    wrong_token = await crm_intake.http.post("/v1/integrations/salesforce/guess", content=_message(), headers=XML)
    other_org = await crm_intake.http.post(PATH, headers=XML, content=_message().replace(
        b"00Dxx0000001gEREAY", b"00Dxx0000009zzzAAA"))
    assert (wrong_token.status_code, other_org.status_code) == (401, 401)
    assert "OrganizationId" in other_org.json()["detail"]
    assert await count_rows(crm_intake, tables.activities) == 0 and await recorded_events(crm_intake) == []
    same_org_15 = await crm_intake.http.post(PATH, headers=XML, content=_message().replace(
        b"00Dxx0000001gEREAY", b"00Dxx0000001gER"))
    assert same_org_15.content == DOCUMENTED_ACK and await count_rows(crm_intake, tables.activities) == 2


async def test_an_entity_bomb_is_refused_quickly_and_malformed_xml_names_the_problem(crm_intake: Intake) -> None:
    started = time.perf_counter()
    bomb = await crm_intake.http.post(PATH, content=XML_BOMB, headers=XML)
    assert bomb.status_code == 422 and time.perf_counter() - started < 2
    assert bomb.json()["errors"][0]["field"] == "body"
    broken = await crm_intake.http.post(PATH, content=b"<soapenv:Envelope", headers=XML)
    not_soap = await crm_intake.http.post(PATH, content=b"<notifications/>", headers=XML)
    assert (broken.status_code, not_soap.status_code) == (422, 422)
    assert not_soap.json()["errors"][0]["field"] == "Envelope"
    assert await count_rows(crm_intake, tables.activities) == 0


async def test_an_unknown_who_is_parked_acknowledged_and_applied_when_a_lead_gets_that_id(crm_intake: Intake) -> None:
    answer = await crm_intake.http.post(PATH, content=_message(), headers=XML)
    assert answer.content == DOCUMENTED_ACK
    assert await recorded_events(crm_intake) == [] and await count_rows(crm_intake, tables.unmatched_activities) == 2
    lead_id = await new_lead(crm_intake, "di@example.com", salesforce=SF_LEAD_ID)
    events = await recorded_events(crm_intake)
    assert {e["data"]["activity_id"] for e in events} == {"salesforce:00Txx000003DIkSEAW",
                                                          "salesforce:00Txx000003DIkTEAW"}
    assert {e["subject"] for e in events} == {lead_id}
    assert await count_rows(crm_intake, tables.unmatched_activities) == 0


async def test_a_storage_failure_is_not_acknowledged(crm_intake: Intake) -> None:
    await drop_activity_tables(crm_intake)
    answer = await crm_intake.http.post(PATH, content=_message(), headers=XML)
    assert answer.status_code == 503 and b"<Ack>true</Ack>" not in answer.content
    assert b"Fault" in answer.content


async def test_unset_token_is_a_404_naming_the_variable(intake: Intake) -> None:
    answer = await intake.http.post(PATH, content=_message(), headers=XML)
    assert answer.status_code == 404 and "SALESFORCE_OUTBOUND_TOKEN" in answer.json()["detail"]
