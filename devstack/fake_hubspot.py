"""A local stand-in for HubSpot, for trying the write-back loop without a HubSpot account (and for tests).

It answers the requests leadrouter makes the way HubSpot documents them:

- ``POST /crm/v3/objects/contacts/batch/upsert`` (bearer token; ``idProperty: email``; at most 100 inputs; the
  same email twice in one batch is a ``400 VALIDATION_ERROR``) — creates or updates contacts, answers their ids;
- ``GET /crm/v3/objects/contacts/{id}``.

And a few of its own, under ``/_fake``, to drive a demo or a test:

- ``GET /_fake/contacts`` — every contact with its owner;
- ``POST /_fake/fail`` ``{"statuses": [429, 503]}`` — the next upserts answer these (a 429 with ``Retry-After: 1``);
- ``POST /_fake/contacts/{id}/touch`` — the rep "called" the contact: HubSpot's signed (v3)
  ``contact.propertyChange`` webhook for ``notes_last_contacted`` goes to intake, as HubSpot would send it.

``python -m devstack fake-hubspot`` (``make fake-hubspot``) runs it on port 8090.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_PORT = 8090


def _error(status: int, category: str, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message, "correlationId": "fake",
                         "category": category}, status_code=status)


@dataclass
class FakeHubSpot:
    """State of the fake: contacts by id, queued failures, every upsert request seen."""

    #: Bearer token the fake accepts; None accepts any.
    token: str | None = None
    #: Where ``/_fake/contacts/{id}/touch`` sends the webhook, and the app secret it signs it with.
    intake_url: str = "http://127.0.0.1:8000"
    client_secret: str = "dev-hubspot-secret"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    #: When (``time.time()``) each email's contact was first written with an owner: for benchmarks.
    owner_set_at: dict[str, float] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def by_email(self, email: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values() if c["properties"].get("email") == email), None)

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return given.startswith("Bearer ") and (self.token is None or hmac.compare_digest(given[7:], self.token))

    async def upsert(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if self.fail_next:
            status = self.fail_next.pop(0)
            if status == 429:
                response = _error(429, "RATE_LIMITS", "You have reached your secondly limit.")
                response.headers["Retry-After"] = "1"
                return response
            return _error(status, "INTERNAL_ERROR", "Something went wrong.")
        body = await request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            return _error(400, "VALIDATION_ERROR", "inputs must hold 1 to 100 objects")
        emails = [str(i.get("id", "")).lower() for i in inputs]
        if len(set(emails)) != len(emails) or any(i.get("idProperty") != "email" for i in inputs):
            return _error(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input, or idProperty not email")
        if any("@" not in email for email in emails):  # HubSpot refuses the whole batch for one bad value
            return _error(400, "VALIDATION_ERROR", "Property values were not valid")
        self.requests.append(inputs)
        started = datetime.now(UTC).isoformat()
        results = []
        for email, item in zip(emails, inputs, strict=True):
            contact = self.by_email(email)
            new = contact is None
            if contact is None:
                contact = {"id": str(next(self._ids)), "properties": {"email": email}, "createdAt": started}
                self.contacts[contact["id"]] = contact
            contact["properties"].update({k: str(v) for k, v in (item.get("properties") or {}).items()})
            if contact["properties"].get("hubspot_owner_id"):
                self.owner_set_at.setdefault(email, time.time())
            contact["updatedAt"] = started
            results.append({"id": contact["id"], "properties": dict(contact["properties"]), "new": new,
                            "createdAt": contact["createdAt"], "updatedAt": started, "archived": False})
        return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": started,
                             "completedAt": datetime.now(UTC).isoformat()})

    async def get_contact(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        contact = self.contacts.get(request.path_params["contact_id"])
        if contact is None:
            return _error(404, "OBJECT_NOT_FOUND", "Object not found.")
        return JSONResponse(contact)

    async def list_contacts(self, request: Request) -> JSONResponse:
        return JSONResponse({"contacts": list(self.contacts.values())})

    async def fail(self, request: Request) -> JSONResponse:
        self.fail_next.extend(int(s) for s in (await request.json()).get("statuses", []))
        return JSONResponse({"fail_next": self.fail_next})

    async def touch(self, request: Request) -> JSONResponse:
        contact = self.contacts.get(request.path_params["contact_id"])
        if contact is None:
            return _error(404, "OBJECT_NOT_FOUND", "Object not found.")
        answer = await self.send_last_contacted(contact["id"])
        return JSONResponse({"intake_status": answer.status_code, "intake_answer": answer.json()})

    async def send_last_contacted(self, contact_id: str, *, at_ms: int | None = None) -> httpx.Response:
        """HubSpot's ``contact.propertyChange`` webhook for ``notes_last_contacted``, signed (v3) for intake."""
        at_ms = at_ms or int(time.time() * 1000)
        uri = self.intake_url.rstrip("/") + "/v1/integrations/hubspot"
        body = json.dumps([{
            "objectId": int(contact_id), "propertyName": "notes_last_contacted", "propertyValue": str(at_ms),
            "changeSource": "CRM_UI", "eventId": at_ms, "subscriptionId": 1, "portalId": 1, "appId": 1,
            "occurredAt": at_ms, "subscriptionType": "contact.propertyChange", "attemptNumber": 0}]).encode()
        timestamp = str(int(time.time() * 1000))
        digest = hmac.new(self.client_secret.encode(), b"POST" + uri.encode() + body + timestamp.encode(),
                          hashlib.sha256).digest()
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(uri, content=body, headers={
                "content-type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
                "X-HubSpot-Signature-v3": base64.b64encode(digest).decode()})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/crm/v3/objects/contacts/batch/upsert", self.upsert, methods=["POST"]),
            Route("/crm/v3/objects/contacts/{contact_id}", self.get_contact, methods=["GET"]),
            Route("/_fake/contacts", self.list_contacts, methods=["GET"]),
            Route("/_fake/fail", self.fail, methods=["POST"]),
            Route("/_fake/contacts/{contact_id}/touch", self.touch, methods=["POST"]),
        ])
