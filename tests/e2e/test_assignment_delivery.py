"""End to end: a form lead is routed to a rep whose routing entry names their Slack member id and HubSpot owner;
the sla-monitor tells a Slack subscription (mentioning the rep, with the lead's window and link, lead text
escaped) and a CloudEvents subscription (signed, with the rep's CRM ids)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from devstack.stack import SERVICES
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_pipeline import ADMIN, API_KEY, Receiver
from tests.support import eventually, serve

pytestmark = pytest.mark.e2e

FORM = ("first_name=Ana&last_name=Ruiz&email=lead@example.org&company=%3C%21channel%3E+%26+Sons&country=United+States"
        "&industry=fintech&employees=1200&source=web_form&intent=demo_request&campaign=%2Aq4%2A")


@pytest.fixture
def crm_stack(tmp_path: Path, databases: DatabaseFactory) -> Iterator[Stack]:
    with running_stack(tmp_path, {s.name: databases.new(s.name) for s in SERVICES.values()},
                       extra_env={"LEAD_URL_TEMPLATE": "https://crm.example.com/leads/{lead_id}"}) as started:
        yield started


async def test_an_assignment_reaches_slack_mentioning_the_rep_and_a_webhook_with_the_crm_owner(
        crm_stack: Stack) -> None:
    stack = crm_stack
    receiver = Receiver()
    async with serve(receiver.app) as hook_base, httpx.AsyncClient(timeout=10) as http:
        document = (await http.get(stack.url("router", "/v1/routing/config"), headers=ADMIN)).json()["document"]
        for index, rep in enumerate(document["teams"][0]["reps"]):
            rep.update(slack_user_id=f"U024BE7L{index}", crm={"hubspot_owner_id": f"4162977{index}"})
        answer = await http.put(stack.url("router", "/v1/routing/config"), headers=ADMIN, json=document)
        assert answer.status_code == 200, answer.text
        subscribed: dict[str, Any] = {}
        for fmt in ("slack", "cloudevents"):
            answer = await http.post(stack.url("sla-monitor", "/v1/subscriptions"), headers=ADMIN, json={
                "url": hook_base + "/hooks/sla", "events": ["lead.assigned"], "format": fmt,
                "filter": {"team": "na-enterprise"}})
            assert answer.status_code == 201, answer.text
            subscribed[fmt] = answer.json()
        answer = await http.post(stack.url("intake", "/v1/leads"), content=FORM,
                                 headers={**API_KEY, "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 202, answer.text
        lead_id = answer.json()["lead_id"]

        async def both() -> list[tuple[dict[str, str], bytes]] | None:
            return receiver.deliveries if len(receiver.deliveries) >= 2 else None

        deliveries = await eventually(both, timeout=30, what="the Slack message and the webhook")
    [(_, slack_raw)] = [(h, b) for h, b in deliveries if "text" in json.loads(b)]
    [(headers, raw)] = [(h, b) for h, b in deliveries if "type" in json.loads(b)]
    event = Webhook(subscribed["cloudevents"]["secret"]).verify(raw, headers)
    assert event["type"] == "lead.assigned" and event["subject"] == lead_id
    rep_index = int(event["data"]["rep"]["slack_user_id"][-1])
    assert event["data"]["rep"]["crm"]["hubspot_owner_id"] == f"4162977{rep_index}"
    assert "lead@example.org" not in raw.decode()
    text = json.loads(slack_raw)["text"]
    assert text.startswith(f"*New lead* for <@U024BE7L{rep_index}>: Ana Ruiz at &lt;!channel&gt; &amp; Sons")
    assert "campaign \u200b*\u200bq4\u200b*\u200b" in text and "urgency hot" in text
    assert f"<https://crm.example.com/leads/{lead_id}|Open the lead>" in text
    async with httpx.AsyncClient(timeout=10) as http:
        clocks = (await http.get(stack.url("sla-monitor", f"/v1/sla/clocks/{lead_id}"), headers=ADMIN)).json()
    due = datetime.fromisoformat(clocks["clocks"][0]["due_at"])
    assert f"|{due:%Y-%m-%d %H:%M} UTC>" in text
