"""HubSpot write-back: each assignment upserts the lead's contact by email with the rep as its owner.

``POST /crm/v3/objects/contacts/batch/upsert`` takes up to 100 contacts per request, so due write-backs go in
batches. The contact id HubSpot answers becomes the lead's ``external_ids.hubspot`` (``lead.linked``): the
contact's later calls, emails and meetings in HubSpot then meet the lead's clock with no other setup.

An upsert is idempotent (same email, same properties), so a write-back retried after a lost answer has its
effect once. What HubSpot answers decides each outcome:

- ``200``/``201``/``207``: each contact in ``results`` is done; each in ``errors`` failed for good (its
  category is kept, never HubSpot's message, which can quote the lead's data);
- ``429``: rate limited — every write-back of the batch waits ``Retry-After`` (not counted as a failure);
- ``5xx``, no answer, ``401``/``403`` (a token being fixed): retried with backoff;
- another ``4xx`` for a batch: the contacts are sent one by one, so one bad contact fails alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import Row

from shared.events import LeadAssigned
from sla_monitor.channels.base import AssignmentContext, NotDeliverable, Outcome

#: HubSpot's own limit on inputs per batch request.
MAX_BATCH = 100
UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
#: When a 429 carries no Retry-After (HubSpot's limits are per 10 seconds).
DEFAULT_RETRY_AFTER = 10.0


def assignment_payload(data: LeadAssigned, context: AssignmentContext) -> dict[str, Any]:
    """The batch-upsert input for this assignment: the contact by email, owner and the lead's fields."""
    contact, lead = data.contact, data.lead
    email = contact.email.strip().lower() if contact is not None and contact.email else None
    if not email:
        raise NotDeliverable("the lead has no email address, and HubSpot contacts are upserted by email")
    owner = data.rep.crm.hubspot_owner_id if data.rep is not None else None
    properties = {"email": email, "hubspot_owner_id": owner, "firstname": lead.first_name,
                  "lastname": lead.last_name, "company": lead.company,
                  "phone": contact.phone if contact else None, "jobtitle": contact.title if contact else None}
    return {"idProperty": "email", "id": email,
            "properties": {key: value for key, value in properties.items() if value is not None}}


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "")), 0.0), 3600.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _category(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("category") or error.get("subCategory") or "ERROR")[:64]
    return "ERROR"


class HubSpotChannel:
    batch_size = MAX_BATCH
    latest_only = True

    def __init__(self, *, http: httpx.AsyncClient, api_url: str, access_token: str, timeout: float) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + UPSERT_PATH
        self._token = access_token
        self.deadline_seconds = 2 * timeout  # a refused batch is resent contact by contact
        self._timeout = timeout

    async def send(self, deliveries: Sequence[Row[Any]], target: Row[Any]) -> list[Outcome]:
        inputs: dict[str, dict[str, Any]] = {}
        for row in deliveries:  # oldest first: a later assignment of the same contact overrides an earlier one
            payload = json.loads(row.payload)
            inputs[payload["id"]] = payload
        by_email = await self._upsert(list(inputs.values()), split_on_refusal=True)
        return [by_email[json.loads(row.payload)["id"]] for row in deliveries]

    async def _upsert(self, inputs: list[dict[str, Any]], *, split_on_refusal: bool) -> dict[str, Outcome]:
        emails = [i["id"] for i in inputs]

        def every(outcome: Outcome) -> dict[str, Outcome]:
            return dict.fromkeys(emails, outcome)

        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(
                    self._url, json={"inputs": inputs}, timeout=self._timeout,
                    headers={"authorization": f"Bearer {self._token}", "accept": "application/json"})
        except TimeoutError:
            return every(Outcome(False, None, f"HubSpot gave no answer within {self._timeout:g}s"))
        except httpx.HTTPError as exc:
            return every(Outcome(False, None, f"HubSpot unreachable ({type(exc).__name__})"))
        status = response.status_code
        if status == 429:
            wait = _retry_after(response)
            return every(Outcome(False, status, f"HubSpot rate limit; retrying after {wait:g}s", retry_after=wait,
                                 throttled=True))
        if status >= 500 or status in (401, 403):
            return every(Outcome(False, status, f"HubSpot answered {status}"))
        if status >= 400:
            if split_on_refusal and len(inputs) > 1:
                singles = await asyncio.gather(*(self._upsert([i], split_on_refusal=False) for i in inputs))
                return {email: outcome for single in singles for email, outcome in single.items()}
            try:
                category = _category(response.json())
            except ValueError:
                category = "ERROR"
            return every(Outcome(False, status, f"HubSpot refused the contact ({status} {category})",
                                 permanent=True))
        return self._read_results(response, inputs)

    @staticmethod
    def _read_results(response: httpx.Response, inputs: list[dict[str, Any]]) -> dict[str, Outcome]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        results = body.get("results") if isinstance(body, dict) else None
        outcomes: dict[str, Outcome] = {}
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict) or not result.get("id"):
                continue
            email = str((result.get("properties") or {}).get("email") or "").strip().lower()
            if not email and len(inputs) == 1:
                email = inputs[0]["id"]
            outcomes[email] = Outcome(True, status, None, linked=("hubspot", str(result["id"])))
        for error in body.get("errors") or [] if isinstance(body, dict) else []:
            ids = (error.get("context") or {}).get("ids") if isinstance(error, dict) else None
            for email in ids if isinstance(ids, list) else []:
                key = str(email).strip().lower()
                outcomes.setdefault(key, Outcome(False, status, f"HubSpot refused the contact ({_category(error)})",
                                                 permanent=True))
        missing = Outcome(False, status, "HubSpot's answer did not mention this contact")
        return {i["id"]: outcomes.get(i["id"], missing) for i in inputs}


