"""Salesforce Outbound Messages: the SOAP ``notifications`` call, read with a parser that refuses DTDs.

An Outbound Message (Setup > Outbound Messages, sent by a Flow or a Workflow Rule on ``Task`` or ``Event``)
POSTs a SOAP envelope (``text/xml``) holding up to 100 ``Notification`` elements, each an ``Id`` (the
notification's, the same on every retry) and an ``sObject`` with the fields chosen for the message. Salesforce
retries for 24 hours until it gets exactly the ``notificationsResponse`` below with ``<Ack>true</Ack>``.
Salesforce does not sign: the path token and the ``OrganizationId`` are the check.

Mapping (only the fields the message carries are read; pick them in the Outbound Message):

- ``Task``, only once done (``Status`` = ``Completed`` or ``IsClosed`` = true):
  ``TaskSubtype``/``Type`` ``Call`` -> call, direction from ``CallType`` (``Inbound`` -> inbound,
  ``Internal`` -> a note, absent or ``Outbound`` -> outbound: a rep logged a call); ``Email``/``ListEmail``
  -> an outbound email (Salesforce logs the emails a rep sends as tasks); ``Type`` ``Meeting`` -> an outbound
  meeting; anything else -> a note. ``occurred_at`` = ``CompletedDateTime``, else ``LastModifiedDate`` (a
  task edited to done was completed then), else ``CreatedDate`` (a logged call is created done), else the
  time the message arrived. ``ActivityDate`` is a task's due date and is not used.
- ``Event`` -> an outbound meeting at ``StartDateTime`` (else ``ActivityDateTime``, else an all-day
  ``ActivityDate`` at 00:00 UTC, else ``CreatedDate``).
- The person is ``WhoId`` (a Lead ``00Q…`` or Contact ``003…``, in its 18-character form, see ``id18``):
  the lead's ``external_ids.salesforce``.
  ``rep_id`` = ``OwnerId``; ``outcome`` = ``CallDisposition``; ``status`` = ``Status``.
- ``activity_id`` = ``salesforce:<the Task or Event Id>``: a retried notification carries the same record,
  and so does a Flow that fires again when the done task is edited, so one task is one activity. A message
  without the record ``Id`` falls back to the notification ``Id``.

A notification that cannot be mapped (another object, no ``WhoId``, not done yet) is acknowledged with the
rest and logged: refusing it would make Salesforce resend the whole message for a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from intake.crm import BadPayload, Mapped, Skipped, activity_key, bounded, external_id, parse_date, parse_time
from intake.identity import CrmActivity
from shared.events import limits
from shared.events.activities import ActivityType, Direction

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

#: The acknowledgement Salesforce documents for the outbound messaging WSDL (``notificationsResponse`` with
#: one ``Ack`` boolean, in the outbound namespace, inside a SOAP 1.1 envelope).
ACK = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
       b'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
       b'<soapenv:Body>\n'
       b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n'
       b'<Ack>true</Ack>\n'
       b'</notificationsResponse>\n'
       b'</soapenv:Body>\n'
       b'</soapenv:Envelope>\n')
ACK_MEDIA_TYPE = "text/xml; charset=utf-8"

_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Notification:
    """One ``Notification``: its id, the sObject type (``Task``, ``Event``, …) and the sObject's fields."""

    id: str
    sobject_type: str
    fields: dict[str, str]


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    notifications: list[Notification | Skipped]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: Element, namespace: str, name: str) -> Element | None:
    return element.find(f"{{{namespace}}}{name}")


def parse(body: bytes) -> OutboundMessage:
    """The message in ``body``; anything but a SOAP ``notifications`` envelope is a ``BadPayload``. A DTD (so
    any entity, the "billion laughs" among them) is refused before it is expanded."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BadPayload("body", "A DTD or an entity declaration is not accepted.") from None
    except ParseError as exc:
        raise BadPayload("body", f"The body is not well-formed XML ({exc}).") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise BadPayload("Envelope", "Expected a SOAP 1.1 soapenv:Envelope.")
    soap_body = _child(root, SOAP_ENV, "Body")
    notifications = None if soap_body is None else _child(soap_body, OUTBOUND, "notifications")
    if notifications is None:
        raise BadPayload("notifications", f"Expected soapenv:Body/notifications in the {OUTBOUND} namespace.")
    org = _child(notifications, OUTBOUND, "OrganizationId")
    organization_id = (org.text or "").strip() if org is not None else ""
    if not organization_id:
        raise BadPayload("OrganizationId", "Required: the id of the Salesforce org sending the message.")
    items: list[Notification | Skipped] = []
    for index, element in enumerate(notifications.findall(f"{{{OUTBOUND}}}Notification")):
        items.append(_notification(element, index))
    return OutboundMessage(organization_id=organization_id, notifications=items)


def _notification(element: Element, index: int) -> Notification | Skipped:
    id_element = _child(element, OUTBOUND, "Id")
    notification_id = (id_element.text or "").strip() if id_element is not None else ""
    sobject = _child(element, OUTBOUND, "sObject")
    if not notification_id or sobject is None:
        return Skipped(f"Notification[{index}]", "no Id or no sObject")
    sobject_type = _local(sobject.get(XSI_TYPE, "")).rpartition(":")[2]
    fields: dict[str, str] = {}
    for field in sobject:
        if field.get(XSI_NIL) == "true":
            continue
        fields[_local(field.tag)] = (field.text or "").strip()
    return Notification(id=notification_id, sobject_type=sobject_type, fields=fields)


def id18(record_id: str) -> str:
    """The 18-character form of a Salesforce id (the API's): a 15-character id (as shown in the UI's URLs)
    plus its case checksum. Any other value is returned unchanged."""
    if len(record_id) != 15 or not set(record_id) <= _ID_CHARS:
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(record_id[start:start + 5]) if char.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return record_id + suffix


def same_org(given: str, configured: str) -> bool:
    """Whether two org ids name the same org: a 15-character id and its 18-character form (the same 15
    case-sensitive characters plus a case-insensitive checksum) are the same org."""
    a, b = given.strip(), configured.strip()
    if len(a) not in (15, 18) or len(b) not in (15, 18) or not set(a) <= _ID_CHARS or not set(b) <= _ID_CHARS:
        return False
    if len(a) == len(b) == 18:
        return a[:15] == b[:15] and a[15:].upper() == b[15:].upper()
    return a[:15] == b[:15]


def _done(fields: dict[str, str]) -> bool:
    return fields.get("Status", "").lower() == "completed" or fields.get("IsClosed", "").lower() == "true"


def _first_time(fields: dict[str, str], names: tuple[str, ...]) -> tuple[datetime | None, str | None]:
    for name in names:
        if fields.get(name):
            return parse_time(fields[name], name), name
    return None, None


def _task_kind(fields: dict[str, str]) -> tuple[ActivityType, Direction | None]:
    subtype, kind = fields.get("TaskSubtype", ""), fields.get("Type", "")
    if subtype == "Call" or (kind == "Call" and subtype in ("", "Task")):
        call_type = fields.get("CallType", "")
        if call_type == "Internal":
            return "note", None
        return "call", "inbound" if call_type == "Inbound" else "outbound"
    if subtype in ("Email", "ListEmail") or (kind == "Email" and subtype in ("", "Task")):
        return "email", "outbound"
    if kind == "Meeting":
        return "meeting", "outbound"
    return "note", None


def to_activity(notification: Notification | Skipped, *, now: datetime) -> Mapped:
    """The activity a notification stands for, or why it is skipped. ``now`` is the time the message arrived
    (``occurred_at`` when the message carries none of the time fields)."""
    if isinstance(notification, Skipped):
        return notification
    key = f"Notification {notification.id}"
    fields = notification.fields
    if notification.sobject_type not in ("Task", "Event"):
        return Skipped(key, f"an sObject of type {notification.sobject_type or '(none)'!r}, not Task or Event")
    try:
        who = external_id(fields.get("WhoId"), "WhoId")
        who = id18(who) if who else who
    except BadPayload as exc:
        return Skipped(key, f"WhoId: {exc}")
    if who is None:
        return Skipped(key, "no WhoId: the record names no lead or contact (or WhoId is not in the message)")
    try:
        activity_id = activity_key("salesforce", fields.get("Id") or notification.id, "Id")
        occurred_at: datetime | None
        if notification.sobject_type == "Event":
            kind: ActivityType = "meeting"
            direction: Direction | None = "outbound"
            occurred_at, _ = _first_time(fields, ("StartDateTime", "ActivityDateTime"))
            if occurred_at is None and fields.get("ActivityDate"):
                occurred_at = parse_date(fields["ActivityDate"], "ActivityDate")
            if occurred_at is None:
                occurred_at, _ = _first_time(fields, ("CreatedDate",))
        else:
            if not _done(fields):
                return Skipped(key, f"the task is not completed (Status {fields.get('Status', '(absent)')!r})")
            kind, direction = _task_kind(fields)
            occurred_at, _ = _first_time(fields, ("CompletedDateTime", "LastModifiedDate", "CreatedDate"))
    except BadPayload as exc:
        return Skipped(key, f"{exc.field}: {exc}")
    return CrmActivity(
        crm="salesforce", external_id=who, activity_id=activity_id, type=kind, direction=direction,
        occurred_at=occurred_at or now, rep_id=bounded(fields.get("OwnerId"), limits.MAX_REP_ID),
        outcome=bounded(fields.get("CallDisposition"), limits.MAX_OUTCOME),
        status=bounded(fields.get("Status"), limits.MAX_STATUS))


