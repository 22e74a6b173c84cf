"""A local Salesforce that answers as its documentation says: the OAuth 2.0 token endpoint (client credentials),
SOQL ``query`` for a Lead by email, and ``sobjects/Lead`` create and update. It records every request and can be
told to fail: answer a status once, lose a create's answer after creating it, expire its tokens, hold requests.

Answers follow Salesforce's shapes: errors are a JSON list of ``{"message", "errorCode", "fields"}`` (messages
quote the data, as Salesforce's do), a create answers ``201 {"id", "success", "errors"}``, an update ``204``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "3MVG9fake.client.id"
CLIENT_SECRET = "fake-client-secret"
OWNER_A = "005000000000001AAA"
OWNER_B = "005000000000002AAA"
LEAD_FIELDS = {"FirstName", "LastName", "Company", "Email", "Phone", "Title", "Country", "State", "PostalCode",
               "Industry", "NumberOfEmployees", "LeadSource", "OwnerId"}
# The one query shape the write-back sends; the literal is read with SOQL's escapes.
QUERY = re.compile(r"^SELECT Id FROM Lead WHERE Email = '((?:[^'\\]|\\.)*)' AND IsConverted = false "
                   r"ORDER BY CreatedDate LIMIT 1$")
ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b", "f": "\f",
           "F": "\f", '"': '"', "'": "'", "\\": "\\"}


def errors(status: int, code: str, message: str, fields: list[str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code, "fields": fields or []}], status_code=status)


def soql_string(literal: str) -> str:
    """The value of a SOQL literal's body; ``ValueError`` for a backslash SOQL does not define."""
    out, chars = [], iter(literal)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in ESCAPES:
                raise ValueError(literal)
            out.append(ESCAPES[escaped])
        else:
            out.append(char)
    return "".join(out)


@dataclass
class Fault:
    kind: str  # "token", "query", "create", "update" or "any"
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SalesforceFake:
    users: set[str] = field(default_factory=lambda: {OWNER_A, OWNER_B})
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    #: (method, path, kind, status) of every request, in order.
    log: list[tuple[str, str, str, int]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: Creates that create the Lead and then answer 500 (the answer is lost).
    lose_creates: int = 0
    #: Queries answer after this many seconds (so write-backs sent at once overlap).
    query_delay: float = 0.0
    #: Creates that create the Lead and answer only after this many seconds (the caller gave up by then).
    create_delay: float = 0.0
    #: Emails whose create is refused (400 INVALID_EMAIL_ADDRESS, the message quoting the address).
    refused_emails: set[str] = field(default_factory=set)
    auto_assign: list[str | None] = field(default_factory=list)
    #: Every OwnerId a create or an update wrote, in order.
    owners: list[str] = field(default_factory=list)
    held: asyncio.Event | None = None
    waiting: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_lead(self, **fields: Any) -> str:
        lead_id = f"00Q{next(self._ids):012d}AAA"
        self.leads[lead_id] = {"IsConverted": False, **fields}
        return lead_id

    def fail_next(self, kind: str, status: int, body: Any = None, **headers: str) -> None:
        self.faults.append(Fault(kind, status, body, headers))

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def hold(self) -> None:
        self.held = asyncio.Event()

    def release(self) -> None:
        assert self.held is not None
        self.held.set()

    def count(self, kind: str, status: int | None = None) -> int:
        return sum(1 for _, _, k, s in self.log if k == kind and (status is None or s == status))

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/services/oauth2/token", self._token, methods=["POST"]),
            Route("/services/data/{version}/query", self._query, methods=["GET"]),
            Route("/services/data/{version}/sobjects/Lead", self._create, methods=["POST"]),
            Route("/services/data/{version}/sobjects/Lead/{lead_id}", self._update, methods=["PATCH"]),
        ])

    async def _answer(self, request: Request, kind: str, handle: Any) -> Response:
        if self.held is not None and kind != "token":
            self.waiting += 1
            await self.held.wait()
            self.waiting -= 1
        response = await self._fault(kind) or await self._authorized(request, kind) or await handle()
        self.log.append((request.method, request.url.path, kind, response.status_code))
        return response

    async def _fault(self, kind: str) -> Response | None:
        for fault in self.faults:
            if fault.kind in (kind, "any"):
                self.faults.remove(fault)
                body = json.dumps(fault.body if fault.body is not None else [
                    {"message": "Service unavailable", "errorCode": "SERVER_UNAVAILABLE"}])
                return Response(body, status_code=fault.status, headers=fault.headers,
                                media_type="application/json")
        return None

    async def _authorized(self, request: Request, kind: str) -> Response | None:
        if kind == "token":
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    async def _token(self, request: Request) -> Response:
        async def handle() -> Response:
            if request.headers.get("content-type") != "application/x-www-form-urlencoded":
                return JSONResponse({"error": "invalid_request", "error_description": "bad content type"}, 400)
            form = await request.form()
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type", "error_description": "grant type not "
                                                                                             "supported"}, 400)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return JSONResponse({"error": "invalid_client", "error_description": "invalid client credentials"},
                                    400)
            token = f"00Dfake!{secrets.token_urlsafe(24)}"
            self.tokens.add(token)
            base = str(request.base_url).rstrip("/")
            return JSONResponse({"access_token": token, "signature": "c2ln", "scope": "api",
                                 "instance_url": base, "id": f"{base}/id/00Dfake/005fakeRunAs",
                                 "token_type": "Bearer", "issued_at": "1764230400000"})

        return await self._answer(request, "token", handle)

    async def _query(self, request: Request) -> Response:
        async def handle() -> Response:
            await asyncio.sleep(self.query_delay)
            match = QUERY.fullmatch(request.query_params.get("q", ""))
            try:
                email = soql_string(match.group(1)) if match else None
            except ValueError:
                email = None
            if email is None:
                return errors(400, "MALFORMED_QUERY", f"unexpected token: {request.query_params.get('q')}")
            found = [lead_id for lead_id, lead in self.leads.items()
                     if str(lead.get("Email", "")).lower() == email.lower() and not lead["IsConverted"]][:1]
            version = request.path_params["version"]
            return JSONResponse({"totalSize": len(found), "done": True, "records": [
                {"attributes": {"type": "Lead", "url": f"/services/data/{version}/sobjects/Lead/{i}"}, "Id": i}
                for i in found]})

        return await self._answer(request, "query", handle)

    def _invalid(self, fields: dict[str, Any]) -> Response | None:
        unknown = sorted(set(fields) - LEAD_FIELDS)
        if unknown:
            return errors(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type Lead")
        if "OwnerId" in fields and fields["OwnerId"] not in self.users:
            return errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
        if str(fields.get("Email", "")).lower() in self.refused_emails:
            return errors(400, "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {fields['Email']}", ["Email"])
        return None

    async def _create(self, request: Request) -> Response:
        async def handle() -> Response:
            fields = await request.json()
            missing = [f for f in ("LastName", "Company") if not fields.get(f)]
            if missing:
                return errors(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
            refused = self._invalid(fields)
            if refused is not None:
                return refused
            lead_id = self.new_lead(**fields)
            self.auto_assign.append(request.headers.get("sforce-auto-assign"))
            self.owners.append(fields["OwnerId"])
            if self.create_delay:
                await asyncio.sleep(self.create_delay)
            if self.lose_creates:
                self.lose_creates -= 1
                return errors(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
            return JSONResponse({"id": lead_id, "success": True, "errors": []}, status_code=201)

        return await self._answer(request, "create", handle)

    async def _update(self, request: Request) -> Response:
        async def handle() -> Response:
            lead_id = request.path_params["lead_id"]
            if lead_id not in self.leads:
                return errors(404, "NOT_FOUND", "The requested resource does not exist")
            fields = await request.json()
            refused = self._invalid(fields)
            if refused is not None:
                return refused
            self.leads[lead_id].update(fields)
            self.auto_assign.append(request.headers.get("sforce-auto-assign"))
            self.owners.append(fields["OwnerId"])
            return Response(status_code=204)

        return await self._answer(request, "update", handle)
