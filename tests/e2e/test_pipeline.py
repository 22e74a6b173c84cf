"""End to end: an HTML-form lead is assigned, its hot window breaches and ops gets a signed webhook;
a lead that is touched in time is met and never breaches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intake.signatures import sign
from tests.e2e.conftest import CREDENTIALS, Stack
from tests.support import eventually, serve

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
HOT_FORM = ("first_name=Ana&last_name=Ruiz&email={email}&company=Fintastic&country=United+States"
            "&industry=fintech&employees=1200&source=web_form&intent=demo_request&campaign=q4-demo")


class Receiver:
    """A local webhook endpoint that keeps every delivery (headers and raw body)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hooks/sla", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        self.deliveries.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    def for_lead(self, lead_id: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in self.deliveries if json.loads(b)["data"]["lead_id"] == lead_id]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    async with serve(receiver.app) as base_url:
        yield receiver, base_url + "/hooks/sla"


async def _post_form_lead(http: httpx.AsyncClient, stack: Stack, email: str) -> str:
    answer = await http.post(stack.url("intake", "/v1/leads"), content=HOT_FORM.format(email=email),
                             headers={**API_KEY, "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["lead_id"])


async def _assignment(http: httpx.AsyncClient, stack: Stack, lead_id: str) -> dict[str, Any]:
    async def assigned() -> dict[str, Any] | None:
        answer = await http.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN)
        body = answer.json() if answer.status_code == 200 else {}
        current = body.get("current") or {}
        return body if current.get("rep_id") else None

    return await eventually(assigned, timeout=30, what=f"lead {lead_id} to be assigned")


async def test_a_hot_form_lead_is_assigned_breaches_and_a_touched_lead_is_met(
        stack: Stack, receiver: tuple[Receiver, str]) -> None:
    hooks, hook_url = receiver
    async with httpx.AsyncClient(timeout=10) as http:
        subscription = await http.post(stack.url("sla-monitor", "/v1/subscriptions"), headers=ADMIN,
                                       json={"url": hook_url, "events": ["sla.breached"]})
        assert subscription.status_code == 201, subscription.text
        secret = subscription.json()["secret"]

        # A lead that nobody touches: assigned, then breached and delivered, signed.
        late = await _post_form_lead(http, stack, "late@example.com")
        assignment = await _assignment(http, stack, late)
        assert assignment["current"]["urgency"] == "hot"
        assert assignment["current"]["team"] == "na-enterprise"

        # A lead that is called in time: its clock is met.
        touched = await _post_form_lead(http, stack, "touched@example.com")
        touched_assignment = (await _assignment(http, stack, touched))["current"]
        body = json.dumps({"activity_id": f"call-{touched}", "lead_id": touched, "type": "call",
                           "direction": "outbound", "rep_id": touched_assignment["rep_id"],
                           "occurred_at": datetime.now(UTC).isoformat()}).encode()
        timestamp = str(int(time.time()))
        recorded = await http.post(stack.url("intake", "/v1/activities"), content=body, headers={
            "Content-Type": "application/json", "X-Webhook-Timestamp": timestamp,
            "X-Webhook-Signature": sign(CREDENTIALS["CRM_WEBHOOK_SECRET"], timestamp, body)})
        assert recorded.status_code == 202, recorded.text

        async def breach_delivered() -> list[tuple[dict[str, str], bytes]] | None:
            return hooks.for_lead(late) or None

        [(headers, raw)] = await eventually(breach_delivered, timeout=30, what="the breach webhook")
        event = Webhook(secret).verify(raw, headers)
        assert event["type"] == "sla.breached"
        assert event["data"]["lead_id"] == late and event["data"]["urgency"] == "hot"
        assert event["data"]["company"] == "Fintastic" and event["data"]["campaign"] == "q4-demo"

        async def clock_of(lead_id: str, state: str) -> dict[str, Any] | None:
            answer = await http.get(stack.url("sla-monitor", f"/v1/sla/clocks/{lead_id}"), headers=ADMIN)
            clocks = answer.json().get("clocks", []) if answer.status_code == 200 else []
            return next((c for c in clocks if c["state"] == state), None)

        met = await eventually(lambda: clock_of(touched, "met"), timeout=30, what="the touched lead's clock met")
        assert met["response_seconds"] is not None and met["response_seconds"] >= 0
        assert (await clock_of(late, "breached")) is not None

        # Wait until the touched lead's window is well past, then make sure it never breached.
        due_at = datetime.fromisoformat(met["due_at"])
        await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 1.5)
        assert hooks.for_lead(touched) == []
        assert len(hooks.for_lead(late)) == 1
