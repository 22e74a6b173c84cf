"""End to end: a hot lead known in HubSpot is assigned, and HubSpot's ``notes_last_contacted`` webhook (signed v3
in the test) meets its clock through the real broker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import SERVICES
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import CREDENTIALS, Stack, running_stack
from tests.support import eventually

pytestmark = pytest.mark.e2e

SECRET = "e2e-hubspot-secret"
ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
HOT_LEAD = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana.hubspot@example.com", "company": "Fintastic",
            "country": "US", "industry": "fintech", "employees": 1200, "source": "web_form",
            "intent": "demo_request", "campaign": "q4-demo", "external_ids": {"hubspot": "1246965"}}


@pytest.fixture
def hubspot_stack(tmp_path: Path, databases: DatabaseFactory) -> Iterator[Stack]:
    urls = {s.name: databases.new(s.name) for s in SERVICES.values()}
    with running_stack(tmp_path, urls, {"HUBSPOT_CLIENT_SECRET": SECRET}) as started:
        yield started


def hubspot_request(uri: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time() * 1000))
    digest = hmac.new(SECRET.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256).digest()
    return {"content": body, "headers": {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
                                         "X-HubSpot-Signature-v3": base64.b64encode(digest).decode()}}


async def test_a_hubspot_last_contacted_webhook_meets_a_hot_leads_clock(hubspot_stack: Stack) -> None:
    stack = hubspot_stack
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(stack.url("intake", "/v1/leads"), json=HOT_LEAD, headers=API_KEY)
        assert answer.status_code == 202, answer.text
        lead_id = answer.json()["lead_id"]

        async def assigned() -> dict[str, Any] | None:
            reply = await http.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN)
            current = (reply.json().get("current") or {}) if reply.status_code == 200 else {}
            return current if current.get("rep_id") else None

        assignment = await eventually(assigned, timeout=30, what="the lead to be assigned")
        assert assignment["urgency"] == "hot"

        # The rep called half a second after the assignment; HubSpot sets Last contacted and tells us.
        touched_ms = int(datetime.fromisoformat(assignment["assigned_at"]).timestamp() * 1000) + 500
        uri = stack.url("intake", "/v1/integrations/hubspot")
        event = {"objectId": 1246965, "propertyName": "notes_last_contacted", "propertyValue": str(touched_ms),
                 "changeSource": "CRM_UI", "eventId": 3816279340, "subscriptionId": 25, "portalId": 33,
                 "appId": 1160452, "occurredAt": touched_ms + 800, "subscriptionType": "contact.propertyChange",
                 "attemptNumber": 0}
        delivered = await http.post(uri, **hubspot_request(uri, [event]))
        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["accepted"] == 1

        async def met() -> dict[str, Any] | None:
            reply = await http.get(stack.url("sla-monitor", f"/v1/sla/clocks/{lead_id}"), headers=ADMIN)
            clocks = reply.json().get("clocks", []) if reply.status_code == 200 else []
            return next((c for c in clocks if c["state"] == "met"), None)

        clock = await eventually(met, timeout=30, what="the hot lead's clock to be met by the HubSpot touch")
        assert clock["response_seconds"] is not None and clock["response_seconds"] <= 2
