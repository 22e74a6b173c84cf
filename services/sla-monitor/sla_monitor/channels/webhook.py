"""Webhook channel: a POST signed per the Standard Webhooks spec, of a CloudEvent or a Slack message.

Whatever goes wrong sending one (a URL that cannot be parsed, a receiver that trickles its answer or sends an
endless one) becomes that delivery's failed outcome. Every request has a total deadline and only the first
few KiB of an answer are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Row
from standardwebhooks import Webhook

from shared.clock import Clock
from sla_monitor.channels.base import Outcome
from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.ssrf import UnsafeTarget
from sla_monitor.subscription_secrets import signing_secrets
from sla_monitor.webhook_url import InvalidWebhookUrl, parse_webhook_url


def signature_headers(secret: str, *more_secrets: str, message_id: str, body: str,
                      now: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` per the Standard Webhooks spec; with
    several secrets (during a rotation) the signature header carries one signature per secret."""
    signatures = [Webhook(s).sign(msg_id=message_id, timestamp=now, data=body) for s in (secret, *more_secrets)]
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures), "content-type": "application/json"}


async def read_at_most(response: httpx.Response, limit: int) -> int:
    """Read the raw (still compressed, if it is) answer until its end or ``limit`` bytes; returns the count."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen >= limit:
            break
    return seen


class WebhookChannel:
    batch_size = 50
    latest_only = False

    def __init__(self, *, settings: SlaMonitorSettings, clock: Clock, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._clock = clock
        self._http = http
        self.deadline_seconds = settings.webhook_timeout_seconds

    async def send(self, deliveries: Sequence[Row[Any]], target: Row[Any]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._send(row, target) for row in deliveries)))

    async def _send(self, row: Row[Any], subscription: Row[Any]) -> Outcome:
        try:
            url = parse_webhook_url(subscription.url)  # stored before URLs were validated, it may not parse
        except InvalidWebhookUrl as exc:
            return Outcome(False, None, str(exc), permanent=True)
        now = self._clock.now()
        secrets = signing_secrets(subscription.secret, subscription.previous_secret,
                                  subscription.previous_secret_expires_at, now=now)
        headers = signature_headers(*secrets, message_id=row.event_id, body=row.payload, now=now)
        return await self._post(url, row.payload.encode(), headers)

    async def _post(self, url: httpx.URL, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST within the total deadline; the status decides, and only the first few KiB of the answer
        are read (enough to reuse the connection after a short answer, never an endless one)."""
        deadline = self._settings.webhook_timeout_seconds
        status: int | None = None
        try:
            async with asyncio.timeout(deadline), self._http.stream(
                    "POST", url, content=body, headers=headers, timeout=deadline) as response:
                status = response.status_code
                await read_at_most(response, self._settings.webhook_max_response_bytes)
        except UnsafeTarget as exc:  # raised by the transport on connect: see sla_monitor.ssrf
            return Outcome(False, None, str(exc), permanent=True)
        except (TimeoutError, httpx.HTTPError) as exc:
            if status is None:  # no answer; once the status is in, the rest of the answer does not matter
                if isinstance(exc, TimeoutError):
                    return Outcome(False, None, f"no answer within the {deadline:g}s deadline")
                return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"answered {status}")
