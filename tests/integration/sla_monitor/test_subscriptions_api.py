"""The subscription API over real HTTP: URLs that could never be sent to are refused with a 422 naming
``url``; secrets rotate with a grace period in which deliveries verify under both; lead text reaches a
Slack subscriber and the CSV report as text, never as a mention, a link or a formula."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.events import CloudEvent, LeadAssigned, LeadSummary
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Monitor,
    Receiver,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import eventually, serve

UNSENDABLE = ["http://8.8.8.8\t/hook", "https://☃.net/", "http://example.com:99999/hook", "http://[::1",
              "http://" + "a" * 64 + ".example.com/hook", "http://exa mple.com/hook"]


@pytest.mark.parametrize("allow_private", [True, False], ids=["private-allowed", "public-only"])
async def test_urls_that_cannot_be_sent_to_get_a_422_naming_url_and_nothing_is_stored(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path, allow_private: bool) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                allow_private_webhook_targets=allow_private)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        for url in UNSENDABLE:
            answer = await http.post("/v1/subscriptions", json={"url": url})
            assert answer.status_code == 422, url
            assert [e["field"] for e in answer.json()["errors"]] == ["url"], url
        refused = await http.post("/v1/subscriptions", json={"url": "http://[64:ff9b::a00:1]/hook"})
        assert refused.status_code == (201 if allow_private else 422)
        if not allow_private:
            assert refused.json()["errors"][0]["field"] == "url"
            assert (await http.get("/v1/subscriptions")).json()["subscriptions"] == []


class _ShiftedClock:
    """The system clock moved by ``offset``: what the monitor takes for now, injected."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_a_rotated_secret_signs_alongside_the_new_one_for_the_grace_period_only(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                subscription_secret_grace_seconds=24 * 3600)
    clock = _ShiftedClock(-timedelta(hours=25))
    app = create_app(settings, clock=clock)
    expired_receiver, fresh_receiver = Receiver(), Receiver()
    async with serve(expired_receiver.app()) as expired_base, serve(fresh_receiver.app()) as fresh_base, \
            serve(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        await consuming(app)
        expired = (await http.post("/v1/subscriptions", json={"url": expired_base + "/hook"})).json()
        expired_rotation = (await http.post(f"/v1/subscriptions/{expired['id']}/rotate-secret")).json()
        clock.offset = timedelta()  # 25 hours later: the first rotation's grace period is over
        fresh = (await http.post("/v1/subscriptions", json={"url": fresh_base + "/hook"})).json()
        fresh_rotation = (await http.post(f"/v1/subscriptions/{fresh['id']}/rotate-secret")).json()
        assert (await http.post("/v1/subscriptions/nope/rotate-secret")).status_code == 404
        listed = {s["id"]: s for s in (await http.get("/v1/subscriptions")).json()["subscriptions"]}
        await send(kafka_bootstrap, _assigned("rotated", LeadSummary(first_name="Ana")))

        async def both_delivered() -> bool:
            return bool(expired_receiver.deliveries and fresh_receiver.deliveries)

        await eventually(both_delivered, what="a delivery to each subscription")
    assert fresh_rotation["secret"].startswith("whsec_") and fresh_rotation["secret"] != fresh["secret"]
    assert listed[fresh["id"]]["rotation_grace_until"] == fresh_rotation["rotation_grace_until"]
    [(headers, body)] = fresh_receiver.deliveries
    assert Webhook(fresh_rotation["secret"]).verify(body, headers) == Webhook(fresh["secret"]).verify(body, headers)
    [(headers, body)] = expired_receiver.deliveries
    assert Webhook(expired_rotation["secret"]).verify(body, headers)["type"] == "sla.breached"
    with pytest.raises(WebhookVerificationError):
        Webhook(expired["secret"]).verify(body, headers)


def _assigned(lead_id: str, lead: LeadSummary) -> CloudEvent:
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id="rep-a", urgency="hot", rule_id="r1",
                        explanation=["test"], assigned_at=datetime.now(UTC), reason="initial", lead=lead)
    return CloudEvent.wrap(data, source="test/router")


HOSTILE = LeadSummary(first_name="<!channel>", last_name="*FREE*", company="<https://evil|Open lead in CRM>",
                      source="web_form", campaign='=HYPERLINK("https://evil","Open")')


async def test_a_breach_for_a_hostile_lead_reaches_slack_as_escaped_text(monitor: Monitor) -> None:
    await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url, "format": "slack"})
    await send(monitor.kafka, _assigned("hostile-slack", HOSTILE))

    async def delivered() -> list[tuple[dict[str, str], bytes]] | None:
        return monitor.receiver.deliveries or None

    [(_headers, body)] = await eventually(delivered, what="the Slack message")
    text = json.loads(body)["text"]
    assert "<" not in text and ">" not in text  # no mention, no link: Slack's only markup for either
    assert "&lt;!channel&gt;" in text and "&lt;https://evil|Open lead in CRM&gt;" in text
    assert "\u200b*\u200bFREE\u200b*\u200b" in text and text.startswith("*SLA breached*")
    assert "web_form" in text and '=HYPERLINK("https://evil","Open")' in text


async def test_the_csv_report_turns_a_formula_in_lead_text_into_text(monitor: Monitor) -> None:
    await send(monitor.kafka, _assigned("hostile-csv", HOSTILE))

    async def report() -> str | None:
        answer = await monitor.http.get("/v1/reports/speed-to-lead", params={"group_by": "campaign"},
                                        headers={"Accept": "text/csv"})
        return answer.text if "HYPERLINK" in answer.text else None

    rows = list(csv.DictReader(io.StringIO(await eventually(report, what="the clock in the report"))))
    assert [r["group"] for r in rows] == ['\'=HYPERLINK("https://evil","Open")']
