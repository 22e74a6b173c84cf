"""Delivery rules without a network: Standard Webhooks signatures, the retry schedule, subscription filters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from standardwebhooks import Webhook

from sla_monitor.alerts import wants
from sla_monitor.delivery import retry_delay, signature_headers
from sla_monitor.settings import SlaMonitorSettings

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def test_signed_headers_verify_with_the_standard_webhooks_library() -> None:
    body = '{"type":"sla.breached"}'
    headers = signature_headers(SECRET, message_id="evt-1", body=body, now=datetime.now(UTC))
    assert Webhook(SECRET).verify(body, headers) == {"type": "sla.breached"}
    assert headers["webhook-id"] == "evt-1"


def test_the_default_retry_schedule_spans_more_than_a_day_and_never_waits_over_the_cap() -> None:
    settings = SlaMonitorSettings(admin_token="x")
    rng = random.Random(1)
    delays = [retry_delay(attempt, first=settings.delivery_first_retry_seconds,
                          cap=settings.delivery_max_retry_seconds, rng=rng)
              for attempt in range(1, settings.delivery_max_attempts)]
    assert sum(delays, timedelta()) > timedelta(hours=24)
    assert max(delays) <= timedelta(seconds=settings.delivery_max_retry_seconds * 1.2)
    assert delays[0] < delays[3] < delays[6]  # exponential, with jitter


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    rng = random.Random(3)
    assert len({retry_delay(4, first=5, cap=3600, rng=rng) for _ in range(10)}) == 10


def _subscription(events: list[str], **filters: object) -> SimpleNamespace:
    return SimpleNamespace(events=events, filter=filters)


def test_subscription_filters_select_by_type_team_urgency_and_level() -> None:
    breach = {"team": "na", "urgency": "hot", "level": 2}
    assert wants(_subscription(["sla.breached"]), "sla.breached", breach)
    assert not wants(_subscription(["sla.warning"]), "sla.breached", breach)
    assert wants(_subscription(["sla.breached"], team=["na", "emea"], urgency="hot", level=2), "sla.breached", breach)
    assert not wants(_subscription(["sla.breached"], level=[1]), "sla.breached", breach)
    assert not wants(_subscription(["sla.breached"], team="emea"), "sla.breached", breach)
    assert wants(_subscription(["sla.met"], level=1), "sla.met", {"team": "na"})  # no level means level 1
