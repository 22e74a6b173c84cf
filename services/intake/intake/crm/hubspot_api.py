"""HubSpot's CRM API, read only: the contacts a call, email or meeting is associated with, and its properties.

HubSpot gives a webhook 5 seconds. Every request here has a short timeout, at most ``CONCURRENCY`` run at once,
and the whole lookup of a batch is bounded by ``BUDGET_SECONDS``; what does not finish in time (HubSpot down,
slow, rate limiting, a refused token) raises ``HubSpotUnavailable``, and the route answers 503 so that HubSpot
delivers the batch again later (it retries for a day). A deleted engagement (404) is simply skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from intake.crm.hubspot import ENGAGEMENT_PROPERTIES, EngagementCreated

REQUEST_TIMEOUT_SECONDS = 1.5
BUDGET_SECONDS = 3.0
CONCURRENCY = 8
#: At most this many contacts of one engagement are recorded (an email to a whole list is no first response).
MAX_CONTACTS = 20


class HubSpotUnavailable(Exception):
    """HubSpot's API did not answer usefully in time; the event must be delivered again."""


@dataclass(frozen=True)
class Lookup:
    """What HubSpot's API says about a created engagement; ``found`` is False when it no longer exists."""

    created: EngagementCreated
    found: bool
    contact_ids: tuple[str, ...] = ()
    properties: dict[str, Any] | None = None


async def look_up(engagements: Sequence[EngagementCreated], *, api_url: str, token: str,
                  transport: httpx.AsyncBaseTransport | None = None) -> list[Lookup]:
    """The contacts and properties of each engagement, all within ``BUDGET_SECONDS``."""
    if not engagements:
        return []
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=api_url.rstrip("/"), transport=transport,
                                 timeout=httpx.Timeout(REQUEST_TIMEOUT_SECONDS),
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}) as http:
        try:
            async with asyncio.timeout(BUDGET_SECONDS):
                return list(await asyncio.gather(*(_one(http, limit, e) for e in engagements)))
        except TimeoutError:
            raise HubSpotUnavailable(f"HubSpot's API did not answer within {BUDGET_SECONDS:g} seconds.") from None


async def _one(http: httpx.AsyncClient, limit: asyncio.Semaphore, created: EngagementCreated) -> Lookup:
    properties = await _get(http, limit, f"/crm/v3/objects/{created.object_type}/{created.object_id}",
                            params={"properties": ",".join(ENGAGEMENT_PROPERTIES[created.object_type])})
    if properties is None:
        return Lookup(created, found=False)
    associations = await _get(http, limit,
                              f"/crm/v4/objects/{created.object_type}/{created.object_id}/associations/contacts",
                              params={"limit": str(MAX_CONTACTS)})
    contact_ids = tuple(str(result["toObjectId"]) for result in (associations or {}).get("results", [])
                        if isinstance(result, dict) and str(result.get("toObjectId", "")).isdigit())
    return Lookup(created, found=True, contact_ids=contact_ids[:MAX_CONTACTS],
                  properties=dict(properties.get("properties") or {}))


async def _get(http: httpx.AsyncClient, limit: asyncio.Semaphore, path: str,
               params: dict[str, str]) -> dict[str, Any] | None:
    """The JSON object at ``path``; None when it does not exist (404)."""
    async with limit:
        try:
            response = await http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise HubSpotUnavailable(f"HubSpot's API is unreachable: {type(exc).__name__}.") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        # 401/403 (token or scopes), 429 (rate limit) and 5xx: worth delivering again once that is fixed.
        raise HubSpotUnavailable(f"HubSpot's API answered {response.status_code}.")
    try:
        body = response.json()
    except ValueError:
        raise HubSpotUnavailable("HubSpot's API answered something that is not JSON.") from None
    if not isinstance(body, dict):
        raise HubSpotUnavailable("HubSpot's API answered JSON that is not an object.")
    return body
