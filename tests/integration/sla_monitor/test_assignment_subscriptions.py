"""Subscriptions to ``lead.assigned`` over the real broker and real HTTP: exactly the assignments the filter
selects, signed per Standard Webhooks, retried, and in Slack a message mentioning the rep with the lead's
window — lead text kept literal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from shared import topics
from shared.events import AssignedRep, CloudEvent, LeadAssigned, LeadSummary
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Monitor,
    Receiver,
    clocks_of,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import TopicReader, eventually, serve


def _assigned(lead_id: str, *, team: str = "na", urgency: str = "hot", rep_id: str = "rep-a",
              reason: str = "initial", slack_user_id: str | None = "U024BE7LH", **lead: Any) -> CloudEvent:
    summary = {"first_name": "Ana", "last_name": "Ruiz", "company": "Fintastic", "source": "web_form",
               "campaign": "q4", **lead}
    data = LeadAssigned(lead_id=lead_id, team=team, rep_id=rep_id, urgency=urgency, rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC), reason=reason,  # type: ignore[arg-type]
                        lead=LeadSummary(**summary),
                        rep=AssignedRep(name="Rep A", slack_user_id=slack_user_id,
                                        crm={"hubspot_owner_id": "41629779"}))  # type: ignore[arg-type]
    return CloudEvent.wrap(data, source="test/router")


async def _subscribe(monitor: Monitor, **body: Any) -> dict[str, Any]:
    answer = await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url, **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _received(receiver: Receiver, count: int) -> Any:
    async def probe() -> list[tuple[dict[str, str], bytes]] | None:
        return list(receiver.deliveries) if len(receiver.deliveries) >= count else None

    return probe


async def test_a_filtered_subscription_gets_exactly_the_matching_assignments_signed(monitor: Monitor) -> None:
    created = await _subscribe(monitor, events=["lead.assigned"], filter={"team": "na", "urgency": ["hot", "warm"]})
    await send(monitor.kafka, _assigned("match-1"))
    await send(monitor.kafka, _assigned("other-team", team="desk"))
    await send(monitor.kafka, _assigned("too-cold", urgency="cold"))
    for lead_id in ("other-team", "too-cold"):  # their clocks started, so their deliveries would be queued too
        await eventually(clocks_of(monitor, lead_id), what=f"{lead_id}'s clock")
    await send(monitor.kafka, _assigned("match-2", urgency="warm"))
    deliveries = await eventually(_received(monitor.receiver, 2), what="both matching assignments")
    events = [Webhook(created["secret"]).verify(body, headers) for headers, body in deliveries]
    assert sorted(e["subject"] for e in events) == ["match-1", "match-2"]
    for (headers, _), event in zip(deliveries, events, strict=True):
        assert event["type"] == "lead.assigned" and headers["webhook-id"] == event["id"]
        assert event["data"]["reason"] == "initial" and event["data"]["rep"]["slack_user_id"] == "U024BE7LH"
        assert event["data"]["rep"]["crm"]["hubspot_owner_id"] == "41629779"
    async def recorded() -> list[Any] | None:  # the receiver can have both before the worker records the round
        log = (await monitor.http.get(f"/v1/subscriptions/{created['id']}/deliveries")).json()["deliveries"]
        return log if all(d["state"] != "pending" for d in log) else None

    log = await eventually(recorded, what="both deliveries recorded")
    assert sorted((d["lead_id"], d["event_type"], d["state"]) for d in log) == [
        ("match-1", "lead.assigned", "delivered"), ("match-2", "lead.assigned", "delivered")]
    assert len(monitor.receiver.deliveries) == 2  # not the filtered-out ones, and no SLA alert either


async def test_an_assignment_is_retried_after_a_500_with_the_same_webhook_id(monitor: Monitor) -> None:
    monitor.receiver.status = 500
    created = await _subscribe(monitor, events=["lead.assigned"])
    await send(monitor.kafka, _assigned("retried"))
    await eventually(_received(monitor.receiver, 1), what="the first, failing attempt")
    monitor.receiver.status = 204

    async def delivered() -> list[dict[str, Any]] | None:
        log = (await monitor.http.get(f"/v1/subscriptions/{created['id']}/deliveries")).json()["deliveries"]
        return [d for d in log if d["state"] == "delivered"] or None

    [entry] = await eventually(delivered, what="the delivery after the retry")
    assert entry["attempts"] >= 2 and entry["last_status"] == 204 and entry["event_type"] == "lead.assigned"
    assert len({headers["webhook-id"] for headers, _ in monitor.receiver.deliveries}) == 1
    for headers, body in monitor.receiver.deliveries:
        assert Webhook(created["secret"]).verify(body, headers)["subject"] == "retried"


async def test_slack_mentions_the_rep_and_names_the_lead_its_window_and_link_with_lead_text_escaped(
        monitor: Monitor) -> None:
    await _subscribe(monitor, events=["lead.assigned"], format="slack")
    await send(monitor.kafka, _assigned("slack-1", urgency="warm", first_name="<!channel>",
                                        company="Smith & Sons *bold*", campaign="<https://evil.example|x>",
                                        source="web_form"))
    [(_, body)] = await eventually(_received(monitor.receiver, 1), what="the Slack message")
    text = json.loads(body)["text"]
    [clock] = await eventually(clocks_of(monitor, "slack-1"), what="the clock")
    due = datetime.fromisoformat(clock["due_at"])
    assert text.startswith("*New lead* for <@U024BE7LH>: &lt;!channel&gt; Ruiz at Smith &amp; Sons")
    for part in ("source web_form", "campaign &lt;https://evil.example|x&gt;", "urgency warm",
                 f"|{due:%Y-%m-%d %H:%M} UTC>", f"<!date^{int(due.timestamp())}^", "in 24 h",
                 "<http://127.0.0.1:8000/v1/leads/slack-1|Open the lead>"):
        assert part in text, part
    assert "<!channel>" not in text and "<https://evil" not in text and " *bold*" not in text


async def test_a_reassignment_is_delivered_with_its_reason_and_says_so_in_slack(monitor: Monitor) -> None:
    plain = await _subscribe(monitor, events=["lead.assigned"])
    await _subscribe(monitor, events=["lead.assigned"], format="slack")
    await send(monitor.kafka, _assigned("moved"))
    await eventually(_received(monitor.receiver, 2), what="the first assignment's two deliveries")
    await send(monitor.kafka, _assigned("moved", rep_id="rep-b", reason="reassigned", slack_user_id="W012A3CDE"))
    deliveries = await eventually(_received(monitor.receiver, 4), what="the reassignment's two deliveries")
    bodies = [json.loads(body) for _, body in deliveries[2:]]
    [cloud] = [b for b in bodies if "type" in b]
    [slack] = [b for b in bodies if "text" in b]
    assert cloud["data"]["reason"] == "reassigned" and cloud["data"]["rep_id"] == "rep-b"
    assert slack["text"].startswith("*Lead reassigned* for <@W012A3CDE>")
    signed = [(h, b) for h, b in deliveries[2:] if "type" in json.loads(b)]
    assert Webhook(plain["secret"]).verify(signed[0][1], signed[0][0])["data"]["reason"] == "reassigned"


async def test_the_api_takes_lead_assigned_and_refuses_unknown_event_names(monitor: Monitor) -> None:
    created = await _subscribe(monitor, events=["lead.assigned", "sla.breached"], filter={"team": "na"})
    assert created["events"] == ["lead.assigned", "sla.breached"]
    listed = (await monitor.http.get("/v1/subscriptions")).json()["subscriptions"]
    assert [s["events"] for s in listed] == [["lead.assigned", "sla.breached"]]
    for events in (["lead.exploded"], ["lead.assigned", "lead.received"], ["*"]):
        answer = await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url, "events": events})
        assert answer.status_code == 422, events
        assert all(e["field"].startswith("events") for e in answer.json()["errors"]), answer.text
    assert len((await monitor.http.get("/v1/subscriptions")).json()["subscriptions"]) == 1


async def test_a_subscription_whose_assignment_deliveries_keep_failing_is_disabled(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                subscription_max_consecutive_failures=3, delivery_first_retry_seconds=0.05)
    receiver = Receiver(status=500)
    app = create_app(settings)
    async with serve(receiver.app()) as hook_base, serve(app) as base_url, \
            httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        await consuming(app)
        created = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook",
                                                              "events": ["lead.assigned"]})).json()
        await send(kafka_bootstrap, _assigned("unheard"))
        async with TopicReader(kafka_bootstrap, topics.SLA_ALERTS) as reader:
            [disabled] = await reader.wait_for(lambda e: e.type == "subscription.disabled")
        assert disabled.data["subscription_id"] == created["id"] and disabled.subject == "unheard"
        [listed] = (await http.get("/v1/subscriptions")).json()["subscriptions"]
        assert listed["active"] is False
        [entry] = (await http.get(f"/v1/subscriptions/{created['id']}/deliveries")).json()["deliveries"]
        assert entry["event_type"] == "lead.assigned" and entry["attempts"] == 3
    assert len(receiver.deliveries) == 3
