"""Requests as the CRM providers document them, shared by the unit and the integration tests.

Sources:
- Salesforce: the outbound messaging WSDL ("Understanding the Outbound Messaging WSDL",
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm):
  ``notifications`` with ``OrganizationId``, ``ActionId``, ``SessionId`` (nillable), ``EnterpriseUrl``,
  ``PartnerUrl`` and up to 100 ``Notification`` (``Id`` + ``sObject`` of ``xsi:type="sf:<Object>"`` in
  ``urn:sobject.enterprise.soap.sforce.com``), as in the published sample messages; the fields of ``Task``
  and ``Event`` are those of the Object Reference (Task: WhoId, TaskSubtype, Type, CallType, Status,
  IsClosed, CompletedDateTime, ActivityDate, CreatedDate, LastModifiedDate, OwnerId, CallDisposition).
- Pipedrive: "Guide for Webhooks v2" (https://pipedrive.readme.io/docs/guide-for-webhooks-v2), "Webhook
  format": ``meta`` (action, entity, company_id, correlation_id, entity_id, id, is_bulk_edit, timestamp,
  type, user_id, version, webhook_id, webhook_owner_id, change_source, attempt, host, permitted_user_ids),
  ``data`` (the object now), ``previous`` (the changed fields' previous values); the activity's fields are
  the API v2 ``ActivityItem`` (id, subject, type, owner_id, is_deleted, add_time, update_time, deal_id,
  lead_id, person_id, org_id, due_date, due_time, duration, busy, done, marked_as_done_time, …).
- Close: "Webhooks" (https://developer.close.com/api/resources/webhooks): ``{"subscription_id", "event"}``
  with the Event Log event (id, date_created without offset, date_updated, action, object_type, object_id,
  lead_id, organization_id, user_id, request_id, changed_fields, previous_data, meta, data); the signature
  headers ``close-sig-hash`` / ``close-sig-timestamp`` ("Webhook signatures"); a call activity's fields from
  "Calls" (direction, disposition, status, duration, user_id, lead_id, date_created, activity_at).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

# --- Salesforce ------------------------------------------------------------------------------------------

SF_ORG_ID = "00Dxx0000001gEREAY"
SF_LEAD_ID = "00Qxx0000012345EAA"
SF_OWNER_ID = "005xx000001SvEDAA0"


def sf_field(name: str, value: str | None) -> str:
    return f'<sf:{name} xsi:nil="true"/>' if value is None else f"<sf:{name}>{value}</sf:{name}>"


def sf_notification(notification_id: str, sobject_type: str, fields: Mapping[str, str | None]) -> str:
    inner = "".join(sf_field(name, value) for name, value in fields.items())
    return (f"<Notification><Id>{notification_id}</Id>"
            f'<sObject xsi:type="sf:{sobject_type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"{inner}</sObject></Notification>")


def sf_envelope(*notifications: str, org_id: str = SF_ORG_ID) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            " <soapenv:Body>\n"
            '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">\n'
            f"   <OrganizationId>{org_id}</OrganizationId>\n"
            "   <ActionId>04kxx0000000001AAA</ActionId>\n"
            '   <SessionId xsi:nil="true"/>\n'
            "   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/00Dxx0000001gER</EnterpriseUrl>\n"
            "   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/00Dxx0000001gER</PartnerUrl>\n"
            f"   {''.join(notifications)}\n"
            "  </notifications>\n"
            " </soapenv:Body>\n"
            "</soapenv:Envelope>\n").encode()


def sf_logged_call(task_id: str = "00Txx000003DIkSEAW", *, who: str = SF_LEAD_ID, call_type: str | None = "Outbound",
                   status: str = "Completed") -> dict[str, str | None]:
    """A call a rep logged ("Log a Call"): a Task created completed, TaskSubtype Call."""
    return {"Id": task_id, "WhoId": who, "TaskSubtype": "Call", "Type": "Call", "CallType": call_type,
            "Status": status, "IsClosed": "true" if status == "Completed" else "false",
            "CallDisposition": "Left voicemail", "ActivityDate": "2026-11-27",
            "CreatedDate": "2026-11-27T09:30:12.000Z", "LastModifiedDate": "2026-11-27T09:30:12.000Z",
            "CompletedDateTime": "2026-11-27T09:30:11.000Z", "OwnerId": SF_OWNER_ID,
            "Subject": "Call"}


SF_EMAIL_TASK = {"Id": "00Txx000003DIkTEAW", "WhoId": SF_LEAD_ID, "TaskSubtype": "Email", "Type": "Email",
                 "Status": "Completed", "CreatedDate": "2026-11-27T09:41:00.000Z",
                 "LastModifiedDate": "2026-11-27T09:41:00.000Z", "OwnerId": SF_OWNER_ID,
                 "Subject": "Email: Your demo request"}
SF_EVENT = {"Id": "00Uxx000001kNpzEAE", "WhoId": SF_LEAD_ID, "EventSubtype": "Event", "Type": "Meeting",
            "StartDateTime": "2026-11-28T15:00:00.000Z", "EndDateTime": "2026-11-28T15:30:00.000Z",
            "ActivityDateTime": "2026-11-28T15:00:00.000Z", "ActivityDate": "2026-11-28",
            "IsAllDayEvent": "false", "CreatedDate": "2026-11-27T09:45:00.000Z", "OwnerId": SF_OWNER_ID,
            "Subject": "Demo"}

#: "Billion laughs": ten nested entities, each ten of the previous (10^9 "lol"s once expanded).
XML_BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                      for i in range(1, 10))
            + ']>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol9;</OrganizationId>'
            '</notifications></soapenv:Body></soapenv:Envelope>').encode()

# --- Pipedrive -------------------------------------------------------------------------------------------

PD_PERSON_ID = 1101


def pd_activity(action: str = "create", *, event_id: str = "a7c5f1b2-3d4e-4f60-8a9b-0c1d2e3f4a5b",
                done: bool = True, previous: dict[str, Any] | None = None, activity_type: str = "call",
                person_id: int | None = PD_PERSON_ID, lead_id: str | None = None,
                marked_as_done_time: str | None = "2026-11-27 09:30:11") -> dict[str, Any]:
    """A webhooks v2 activity event (meta as in "Webhook format", data as the v2 ActivityItem)."""
    return {
        "meta": {"action": action, "entity": "activity", "company_id": "12345",
                 "correlation_id": "1f6b0b8e-2c1d-4e5f-9a8b-7c6d5e4f3a2b", "entity_id": "8", "id": event_id,
                 "is_bulk_edit": False, "timestamp": "2026-11-27T09:30:12.000Z", "type": "general",
                 "user_id": "1234", "version": "2.0", "webhook_id": "222", "webhook_owner_id": "1234",
                 "change_source": "app", "attempt": 1, "host": "company.pipedrive.com",
                 "permitted_user_ids": ["1234"]},
        "data": {"id": 8, "subject": "Call back", "type": activity_type, "owner_id": 1234,
                 "creator_user_id": 1234, "is_deleted": False, "add_time": "2026-11-27 09:00:00",
                 "update_time": "2026-11-27 09:30:11", "deal_id": None, "lead_id": lead_id,
                 "person_id": person_id, "org_id": 5, "project_id": None, "due_date": "2026-11-27",
                 "due_time": "09:30", "duration": "00:15", "busy": False, "done": done,
                 "marked_as_done_time": marked_as_done_time if done else None},
        "previous": previous,
    }


def pd_basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

# --- Close -----------------------------------------------------------------------------------------------

CLOSE_LEAD_ID = "lead_IIDHIStmFDYr4bBE6kfL4ibu8hkTUjKajFUX0vGDQ8X"
CLOSE_USER_ID = "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA"

_CLOSE_CALL_EVENT: dict[str, Any] = {
    "subscription_id": "whsub_3cKLbULQyy6fFDNMQnuMJW",
    "event": {
        "id": "ev_2sYKRjcrA79yKxi3S4Crd7", "date_created": "2026-11-27T09:30:12.395000",
        "date_updated": "2026-11-27T09:30:12.395000", "action": "created", "object_type": "activity.call",
        "object_id": "acti_0DhpOqyUcLTHb3B1FGeDjdoO8Uz1fJWSO6HuGRbTaEI", "lead_id": CLOSE_LEAD_ID,
        "organization_id": "orga_XbVPx5fFbKlYTz9PW5Ih1XDhViV10YihIaEgMEb6fVW", "user_id": CLOSE_USER_ID,
        "request_id": "req_4S2L8JTBAoDd6wiaHo1bTmIS6f4V1tDSHUWHrzvtJyH", "changed_fields": [],
        "previous_data": {}, "meta": {"request_method": "POST", "request_path": "/api/v1/activity/call/"},
        "data": {"id": "acti_0DhpOqyUcLTHb3B1FGeDjdoO8Uz1fJWSO6HuGRbTaEI", "_type": "Call",
                 "lead_id": CLOSE_LEAD_ID, "user_id": CLOSE_USER_ID, "direction": "outbound",
                 "disposition": "vm-left", "status": "completed", "duration": 42,
                 "date_created": "2026-11-27T09:30:11.100000+00:00",
                 "activity_at": "2026-11-27T09:29:29.000000+00:00",
                 "organization_id": "orga_XbVPx5fFbKlYTz9PW5Ih1XDhViV10YihIaEgMEb6fVW"},
    },
}


def close_event(object_type: str = "activity.call", *, event_id: str = "ev_2sYKRjcrA79yKxi3S4Crd7",
                action: str = "created", lead_id: str | None = CLOSE_LEAD_ID, **data: Any) -> dict[str, Any]:
    payload = copy.deepcopy(_CLOSE_CALL_EVENT)
    event = payload["event"]
    event.update(id=event_id, object_type=object_type, action=action, lead_id=lead_id)
    if object_type != "activity.call":
        for name in ("direction", "disposition", "duration", "activity_at"):
            event["data"].pop(name)
        event["data"]["_type"] = object_type.rpartition(".")[2].capitalize()
    event["data"].update(data)
    return payload


def close_signed(key_hex: str, payload: dict[str, Any], *, at: int | None = None) -> dict[str, Any]:
    """An httpx request body and headers signed as Close documents, computed here with hmac."""
    body = json.dumps(payload).encode()
    timestamp = str(at if at is not None else int(time.time()))
    digest = hmac.new(bytes.fromhex(key_hex), timestamp.encode() + body, hashlib.sha256).hexdigest()
    return {"content": body, "headers": {"Content-Type": "application/json", "close-sig-hash": digest,
                                         "close-sig-timestamp": timestamp}}
