"""Delivery rules without a network: Standard Webhooks signatures, the retry schedule, subscription filters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sla_monitor.alerts import wants
from sla_monitor.delivery import retry_delay, signature_headers
from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.subscription_secrets import new_secret, signing_secrets

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def test_signed_headers_verify_with_the_standard_webhooks_library() -> None:
    body = '{"type":"sla.breached"}'
    headers = signature_headers(SECRET, message_id="evt-1", body=body, now=datetime.now(UTC))
    assert Webhook(SECRET).verify(body, headers) == {"type": "sla.breached"}
    assert headers["webhook-id"] == "evt-1"


def test_during_a_rotation_grace_period_both_secrets_verify_and_afterwards_only_the_new_one() -> None:
    old, new = new_secret(), new_secret()
    rotated_at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    valid_until = rotated_at + timedelta(hours=24)
    body = '{"type":"sla.breached"}'

    def delivered_at(when: datetime) -> dict[str, str]:
        chosen = signing_secrets(new, old, valid_until, now=when)
        # The receiver checks the timestamp against its own clock, so the message is signed now; which
        # secrets sign it is decided by the injected time ``when``.
        return signature_headers(*chosen, message_id="evt-1", body=body, now=datetime.now(UTC))

    during = delivered_at(rotated_at + timedelta(hours=23, minutes=59))
    assert len(during["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, during) == Webhook(old).verify(body, during) == {"type": "sla.breached"}
    after = delivered_at(valid_until)
    assert Webhook(new).verify(body, after) == {"type": "sla.breached"}
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, after)


def test_a_subscription_never_rotated_is_signed_with_its_one_secret() -> None:
    assert signing_secrets("whsec_a", None, None, now=datetime.now(UTC)) == ["whsec_a"]


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
