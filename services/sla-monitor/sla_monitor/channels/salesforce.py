"""Salesforce write-back: each assignment makes the rep the owner of the lead's Salesforce Lead.

It signs in with the OAuth 2.0 client-credentials flow (a connected or external client app whose run-as user
may edit Leads; see ``channels.salesforce_api``).

- The Lead's id is known (a ``lead.linked`` learned since routing, else the lead's ``external_ids.salesforce``):
  ``PATCH /sobjects/Lead/{id}`` with ``OwnerId``.
- Otherwise an unconverted Lead with the lead's email is looked for first (SOQL), and only when there is none
  a Lead is created with ``OwnerId`` and the standard fields. So a write-back retried after its create's answer
  was lost, or a lead marketing already put in Salesforce, is updated instead of duplicated. (A lead without an
  email cannot be looked for: a lost answer to its create can leave a duplicate.)
- Requests say ``Sforce-Auto-Assign: FALSE``: REST API otherwise runs the org's lead assignment rules, which
  would replace the owner just set.

The id becomes the lead's ``external_ids.salesforce`` (``lead.linked``). Which answers are retried, throttled
or refused for good is ``channels.salesforce_api``'s; when Salesforce throttles one write-back, those of the batch
not yet sent wait with it. Write-backs of one lead (or one email) in a batch run in order, the rest concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Row

from shared.events import LeadAssigned, LeadContact
from sla_monitor.channels.base import AssignmentContext, NotDeliverable, Outcome
from sla_monitor.channels.salesforce_api import ApiFailure, SalesforceApi

#: Salesforce web-to-lead's placeholder for the two fields a Lead requires.
NOT_PROVIDED = "[not provided]"
#: A record id: 15 case-sensitive or 18 case-insensitive letters and digits.
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
CONTACT_PREFIX = "003"
#: Lengths of the Lead's standard text fields; longer values are cut (Email is not: a cut address is wrong).
FIELD_LENGTHS = {"FirstName": 40, "LastName": 80, "Company": 255, "Phone": 40, "Title": 128, "Country": 80,
                 "State": 80, "PostalCode": 20, "Industry": 255, "LeadSource": 255}
MAX_EMPLOYEES = 99_999_999
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                 "\f": "\\f"}


def soql_literal(value: str) -> str:
    """``value`` as a SOQL string literal, quotes included (backslash and quotes escaped, and control characters
    SOQL has escapes for)."""
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


def _text(value: str | None, field: str) -> str | None:
    value = value.strip() if value else None
    return value[:FIELD_LENGTHS[field]] if value else None


def assignment_payload(data: LeadAssigned, context: AssignmentContext) -> dict[str, Any]:
    """What the write-back needs: the owner, the Lead's id when known, and the fields of a Lead to create."""
    owner = data.rep.crm.salesforce_user_id if data.rep is not None else None
    if not owner:
        raise NotDeliverable("the rep has no crm.salesforce_user_id in the routing document, so there is no "
                             "Salesforce owner to set")
    if not RECORD_ID.fullmatch(owner):
        raise NotDeliverable("the rep's crm.salesforce_user_id is not a Salesforce id (15 or 18 letters and digits)")
    contact, lead = data.contact or LeadContact(), data.lead
    known = context.links.get("salesforce") or contact.external_ids.get("salesforce")
    if known is not None and not RECORD_ID.fullmatch(known):
        raise NotDeliverable("the lead's external_ids.salesforce is not a Salesforce id (15 or 18 letters and digits)")
    if known is not None and known.startswith(CONTACT_PREFIX):
        raise NotDeliverable("the lead is known in Salesforce as a Contact, whose owner is not changed from here")
    email = contact.email.strip() if contact.email and contact.email.strip() else None
    employees = contact.employees if contact.employees is not None and 0 <= contact.employees <= MAX_EMPLOYEES \
        else None
    fields: dict[str, Any] = {
        "FirstName": _text(lead.first_name, "FirstName"), "LastName": _text(lead.last_name, "LastName") or NOT_PROVIDED,
        "Company": _text(lead.company, "Company") or NOT_PROVIDED, "Email": email,
        "Phone": _text(contact.phone, "Phone"), "Title": _text(contact.title, "Title"),
        "Country": _text(contact.country, "Country"), "State": _text(contact.region, "State"),
        "PostalCode": _text(contact.postal_code, "PostalCode"), "Industry": _text(contact.industry, "Industry"),
        "NumberOfEmployees": employees, "LeadSource": _text(lead.source, "LeadSource")}
    return {"owner_id": owner, "id": known, "email": email,
            "fields": {key: value for key, value in fields.items() if value is not None}}


def _record_id(value: Any) -> str:
    if isinstance(value, str) and RECORD_ID.fullmatch(value):
        return value
    raise ValueError("Salesforce answered something other than a record id.")


def _chains(deliveries: Sequence[Row[Any]], payloads: list[dict[str, Any]]) -> list[list[int]]:
    """Indexes of the batch's write-backs grouped by lead and email, each group in order: one group's write-backs
    run one after another (the last assignment's owner wins; a Lead created by one is updated by the next)."""
    chains: list[list[int]] = []
    where: dict[str, int] = {}
    for index, (row, payload) in enumerate(zip(deliveries, payloads, strict=True)):
        keys = [f"lead:{row.lead_id}"] + ([f"email:{payload['email'].lower()}"] if payload["email"] else [])
        chain = next((where[k] for k in keys if k in where), None)
        if chain is None:
            chain = len(chains)
            chains.append([])
        chains[chain].append(index)
        where.update(dict.fromkeys(keys, chain))
    return chains


class SalesforceChannel:
    batch_size = 25
    latest_only = True

    def __init__(self, *, http: httpx.AsyncClient, instance_url: str, client_id: str, client_secret: str,
                 api_version: str, timeout: float, concurrency: int = 8) -> None:
        self._api = SalesforceApi(http=http, instance_url=instance_url, client_id=client_id,
                                  client_secret=client_secret, api_version=api_version, timeout=timeout)
        # A write-back takes up to five requests (token, look-up, create, and a fresh token with a retry); a
        # batch ends by this deadline, and those cut off are retried.
        self.deadline_seconds = 4 * timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._throttled: tuple[float, Outcome] | None = None

    async def send(self, deliveries: Sequence[Row[Any]], target: Row[Any]) -> list[Outcome]:
        payloads = [json.loads(row.payload) for row in deliveries]
        outcomes: list[Outcome | None] = [None] * len(payloads)

        async def chain(indexes: list[int]) -> None:
            learned: str | None = None
            for index in indexes:
                payload = payloads[index]
                if learned is not None and payload["id"] is None:
                    payload = {**payload, "id": learned}
                outcomes[index] = outcome = await self._write_back(payload)
                if outcome.linked is not None:
                    learned = outcome.linked[1]

        # At the deadline the chains still running are cut off; their deliveries get the "late" outcome below.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.deadline_seconds):
                await asyncio.gather(*(chain(indexes) for indexes in _chains(deliveries, payloads)))
        late = Outcome(False, None, f"Salesforce write-back did not finish within {self.deadline_seconds:g}s")
        return [outcome or late for outcome in outcomes]

    async def _write_back(self, payload: dict[str, Any]) -> Outcome:
        async with self._limit:
            if self._throttled is not None and time.monotonic() < self._throttled[0]:
                return self._throttled[1]
            try:
                return await self._owner(payload)
            except ApiFailure as stop:
                if stop.outcome.throttled and stop.outcome.retry_after:
                    self._throttled = (time.monotonic() + stop.outcome.retry_after, stop.outcome)
                return stop.outcome
            except (ValueError, LookupError, TypeError, AttributeError):  # an answer not shaped as documented
                return Outcome(False, None, "Salesforce's answer could not be read")

    async def _owner(self, payload: dict[str, Any]) -> Outcome:
        owner = {"OwnerId": payload["owner_id"]}
        record_id = payload["id"]
        if record_id is None and payload["email"]:
            soql = (f"SELECT Id FROM Lead WHERE Email = {soql_literal(payload['email'])} AND IsConverted = false "
                    "ORDER BY CreatedDate LIMIT 1")
            found = await self._api.call("GET", "/query", params={"q": soql})
            records = found.json().get("records") or []
            record_id = _record_id(records[0]["Id"]) if records else None
        if record_id is not None:
            answer = await self._api.call("PATCH", f"/sobjects/Lead/{quote(record_id, safe='')}", json=owner)
            return Outcome(True, answer.status_code, None, linked=("salesforce", record_id))
        answer = await self._api.call("POST", "/sobjects/Lead", json={**payload["fields"], **owner})
        return Outcome(True, answer.status_code, None, linked=("salesforce", _record_id(answer.json()["id"])))
