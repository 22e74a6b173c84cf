"""Webhook delivery: retried with backoff until it succeeds, logged, a failing subscription is switched off
with an event saying so, Slack gets a readable message, and internal targets are refused, both when
subscribing and when connecting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from shared import topics
from sla_monitor.main import create_app
from sla_monitor.ssrf import UnsafeTarget, WebhookTransport
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Monitor,
    Receiver,
    assigned,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import TopicReader, eventually, serve


async def _deliveries(monitor: Monitor, subscription_id: str, *, count: int = 1,
                      state: str | None = None) -> list[dict[str, object]]:
    async def probe() -> list[dict[str, object]] | None:
        log = (await monitor.http.get(f"/v1/subscriptions/{subscription_id}/deliveries")).json()["deliveries"]
        matching = [d for d in log if state is None or d["state"] == state]
        return matching if len(matching) >= count else None

    return await eventually(probe, what=f"{count} {state or ''} deliveries")


async def test_a_failing_endpoint_is_retried_until_it_answers_and_the_log_shows_it(monitor: Monitor) -> None:
    monitor.receiver.status = 503
    created = (await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url})).json()
    await send(monitor.kafka, assigned("retry-me"))
    await eventually(lambda: _at_least(monitor.receiver, 2), what="two failed attempts")
    monitor.receiver.status = 200
    [entry] = await _deliveries(monitor, created["id"], state="delivered")
    assert entry["attempts"] >= 3 and entry["last_status"] == 200 and entry["event_type"] == "sla.breached"
    ids = {headers["webhook-id"] for headers, _ in monitor.receiver.deliveries}
    assert len(ids) == 1  # every retry carries the same webhook-id, so receivers can dedupe


async def _at_least(receiver: Receiver, count: int) -> bool:
    return len(receiver.deliveries) >= count


async def test_a_subscription_that_keeps_failing_is_disabled_with_an_event(
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
        created = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook"})).json()
        await send(kafka_bootstrap, assigned("never-heard"))
        async with TopicReader(kafka_bootstrap, topics.SLA_ALERTS) as reader:
            [disabled] = await reader.wait_for(lambda e: e.type == "subscription.disabled")
        assert disabled.data["subscription_id"] == created["id"] and disabled.data["consecutive_failures"] == 3
        [listed] = (await http.get("/v1/subscriptions")).json()["subscriptions"]
        assert listed["active"] is False and listed["disabled_at"] is not None
        assert len(receiver.deliveries) == 3


async def test_a_slack_subscription_gets_a_readable_message(monitor: Monitor) -> None:
    await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url, "format": "slack"})
    await send(monitor.kafka, assigned("slack-lead"))

    async def delivered() -> list[tuple[dict[str, str], bytes]] | None:
        return monitor.receiver.deliveries or None

    [(_headers, body)] = await eventually(delivered, what="the Slack message")
    text = json.loads(body)["text"]
    for part in ("SLA breached", "Ana Ruiz", "Fintastic", "web_form", "q4", "rep-a", "min late"):
        assert part in text


async def test_internal_webhook_targets_are_refused(databases: DatabaseFactory, kafka_bootstrap: str,
                                                    tmp_path: Path) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                allow_private_webhook_targets=False)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                    "http://[::1]/hook", "http://169.254.169.254/latest/meta-data", "ftp://example.com/hook"):
            answer = await http.post("/v1/subscriptions", json={"url": url})
            assert answer.status_code == 422, url
        assert (await http.get("/v1/subscriptions")).json()["subscriptions"] == []


async def test_the_delivery_client_connects_only_to_the_public_address_it_checked() -> None:
    receiver = Receiver(status=204)
    async with serve(receiver.app()) as hook_base:
        url = hook_base.replace("127.0.0.1", "localhost") + "/hook"
        async with httpx.AsyncClient(transport=WebhookTransport(allow_private=True)) as open_client:
            assert (await open_client.post(url, content=b"{}")).status_code == 204
        async with httpx.AsyncClient(transport=WebhookTransport(allow_private=False)) as guarded:
            with pytest.raises(UnsafeTarget, match="loopback or private"):
                await guarded.post(url, content=b"{}")
    assert len(receiver.deliveries) == 1  # only the allowed client got through


async def test_a_target_that_turned_internal_after_it_was_accepted_is_not_delivered_to(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    """The subscription was accepted while private targets were allowed (as if its host then resolved
    publicly); the monitor that delivers refuses the internal address at connect time."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    url = await migrated(databases)
    receiver = Receiver(status=204)
    async with serve(receiver.app()) as hook_base:
        lenient = monitor_settings(url, kafka_bootstrap, policies, allow_private_webhook_targets=True)
        async with serve(create_app(lenient)) as base_url, \
                httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
            created = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook"})).json()
        strict = monitor_settings(url, kafka_bootstrap, policies, allow_private_webhook_targets=False)
        app = create_app(strict)
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
            await consuming(app)
            await send(kafka_bootstrap, assigned("rebound-host"))

            async def failed() -> list[dict[str, object]] | None:
                log = (await http.get(f"/v1/subscriptions/{created['id']}/deliveries")).json()["deliveries"]
                return [d for d in log if d["state"] == "failed"] or None

            [entry] = await eventually(failed, what="the refused delivery")
    assert entry["attempts"] == 1 and "loopback or private" in str(entry["last_error"])
    assert receiver.deliveries == []
