"""End to end, the whole loop with HubSpot (a local stand-in that answers as HubSpot documents): a form lead is
routed, the contact is written to HubSpot with the rep as its owner, the contact id it answers reaches intake
(``lead.linked``), and HubSpot's signed "last contacted" webhook for that contact meets the lead's clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.fake_hubspot import FakeHubSpot
from devstack.stack import SERVICES
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_pipeline import ADMIN, API_KEY
from tests.support import eventually, serve

pytestmark = pytest.mark.e2e

SECRET = "e2e-hubspot-secret"
TOKEN = "pat-e2e"
LEAD = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana.loop@example.com", "company": "Fintastic",
        "country": "US", "industry": "fintech", "employees": 1200, "source": "web_form", "intent": "demo_request"}


@pytest.fixture
async def loop(tmp_path: Path, databases: DatabaseFactory) -> AsyncIterator[tuple[Stack, FakeHubSpot]]:
    fake = FakeHubSpot(token=TOKEN, client_secret=SECRET)
    async with serve(fake.app()) as hubspot_url:
        with running_stack(tmp_path, {s.name: databases.new(s.name) for s in SERVICES.values()}, {
                "HUBSPOT_CLIENT_SECRET": SECRET, "HUBSPOT_ACCESS_TOKEN": TOKEN,
                "HUBSPOT_API_URL": hubspot_url}) as stack:
            fake.intake_url = stack.urls["intake"]
            yield stack, fake


async def test_a_routed_lead_gets_its_hubspot_owner_and_the_reps_touch_in_hubspot_meets_its_clock(
        loop: tuple[Stack, FakeHubSpot]) -> None:
    stack, hubspot = loop
    async with httpx.AsyncClient(timeout=10) as http:
        # A 30-minute window, so the loop is judged on the touch, not raced against a short test policy.
        answer = await http.put(stack.url("sla-monitor", "/v1/sla/policies"), headers=ADMIN, json={"policies": {
            "hot": {"first_response": "30m"}, "warm": {"first_response": "24h"}, "cold": {"first_response": "72h"}}})
        assert answer.status_code == 200, answer.text
        document = (await http.get(stack.url("router", "/v1/routing/config"), headers=ADMIN)).json()["document"]
        owners = {}
        for team in document["teams"]:
            for index, rep in enumerate(team["reps"]):
                rep["crm"] = {"hubspot_owner_id": owners.setdefault(rep["id"], f"5550{len(owners)}{index}")}
        assert (await http.put(stack.url("router", "/v1/routing/config"), headers=ADMIN,
                               json=document)).status_code == 200

        answer = await http.post(stack.url("intake", "/v1/leads"), json=LEAD, headers=API_KEY)
        assert answer.status_code == 202, answer.text
        lead_id = answer.json()["lead_id"]

        async def owned() -> dict[str, Any] | None:
            contact = hubspot.by_email(LEAD["email"])
            return contact if contact and contact["properties"].get("hubspot_owner_id") else None

        contact = await eventually(owned, timeout=30, what="HubSpot to get the contact with its owner")
        assignment = (await http.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN)).json()
        rep_id = assignment["current"]["rep_id"]
        assert contact["properties"]["hubspot_owner_id"] == owners[rep_id]
        assert contact["properties"]["firstname"] == "Ana" and contact["properties"]["company"] == "Fintastic"

        async def linked() -> str | None:
            lead = (await http.get(stack.url("intake", f"/v1/leads/{lead_id}"), headers=ADMIN)).json()
            return lead.get("external_ids", {}).get("hubspot")

        assert await eventually(linked, timeout=30, what="intake to learn the contact id") == contact["id"]

        # The rep calls 400 ms after the assignment; HubSpot sets "last contacted" and sends its webhook. (A touch
        # dated later than its arrival counts as made on arrival, so the webhook goes once that moment is past.)
        touched_ms = int(datetime.fromisoformat(assignment["current"]["assigned_at"]).timestamp() * 1000) + 400
        await asyncio.sleep(max(0.0, touched_ms / 1000 + 0.05 - time.time()))
        delivered = await hubspot.send_last_contacted(contact["id"], at_ms=touched_ms)
        assert delivered.status_code == 200 and delivered.json()["accepted"] == 1, delivered.text

        async def met() -> dict[str, Any] | None:
            reply = await http.get(stack.url("sla-monitor", f"/v1/sla/clocks/{lead_id}"), headers=ADMIN)
            clocks = reply.json().get("clocks", []) if reply.status_code == 200 else []
            return next((c for c in clocks if c["state"] == "met"), None)

        clock = await eventually(met, timeout=30, what="the clock to be met by the rep's touch in HubSpot")
        assert clock["response_seconds"] == pytest.approx(0.4, abs=0.01)
        log = (await http.get(stack.url("sla-monitor", f"/v1/leads/{lead_id}/deliveries"), headers=ADMIN)).json()
        [write] = [d for d in log["deliveries"] if d["channel"] == "hubspot"]
        assert write["state"] == "delivered" and write["external_id"] == contact["id"]
