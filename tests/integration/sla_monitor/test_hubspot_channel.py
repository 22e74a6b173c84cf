"""The HubSpot channel against a local HubSpot (``devstack.fake_hubspot``, which answers as HubSpot documents) over
real HTTP: one request per batch, ids answered per contact, rate limits and refusals handled per contact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from devstack.fake_hubspot import FakeHubSpot
from sla_monitor.channels.hubspot import HubSpotChannel
from tests.support import serve

TARGET = SimpleNamespace(id="builtin-hubspot", format="hubspot", active=True)


def _row(n: int, email: str, owner: str = "41629779") -> Any:
    payload = {"idProperty": "email", "id": email, "properties": {"email": email, "hubspot_owner_id": owner}}
    return SimpleNamespace(id=n, lead_id=f"lead-{n}", event_id=f"evt-{n}", payload=json.dumps(payload))


@pytest.fixture
async def hubspot() -> AsyncIterator[tuple[FakeHubSpot, HubSpotChannel]]:
    fake = FakeHubSpot(token="pat-test")
    async with serve(fake.app()) as base, httpx.AsyncClient() as http:
        yield fake, HubSpotChannel(http=http, api_url=base, access_token="pat-test", timeout=5)


async def test_a_batch_is_one_request_and_each_contact_gets_its_own_id(
        hubspot: tuple[FakeHubSpot, HubSpotChannel]) -> None:
    fake, channel = hubspot
    rows = [_row(n, f"lead{n}@example.org") for n in range(3)]
    outcomes = await channel.send(rows, TARGET)
    assert len(fake.requests) == 1 and len(fake.requests[0]) == 3
    assert all(o.ok for o in outcomes)
    for row, outcome in zip(rows, outcomes, strict=True):
        contact = fake.by_email(json.loads(row.payload)["id"])
        assert contact is not None and outcome.linked == ("hubspot", contact["id"])
        assert contact["properties"]["hubspot_owner_id"] == "41629779"
    again = await channel.send(rows[:1], TARGET)  # an upsert: the same contact, not a second one
    assert again[0].linked == outcomes[0].linked and len(fake.contacts) == 3


async def test_the_later_assignment_of_a_contact_in_one_batch_decides_its_owner(
        hubspot: tuple[FakeHubSpot, HubSpotChannel]) -> None:
    fake, channel = hubspot
    outcomes = await channel.send([_row(1, "x@example.org", "111"), _row(2, "x@example.org", "222")], TARGET)
    assert [len(r) for r in fake.requests] == [1]  # HubSpot refuses the same id twice in a batch
    assert all(o.ok for o in outcomes) and outcomes[0].linked == outcomes[1].linked
    assert fake.by_email("x@example.org")["properties"]["hubspot_owner_id"] == "222"  # type: ignore[index]


async def test_a_rate_limit_asks_for_its_retry_after_and_does_not_count_as_a_failure(
        hubspot: tuple[FakeHubSpot, HubSpotChannel]) -> None:
    fake, channel = hubspot
    fake.fail_next = [429, 503]
    [limited] = await channel.send([_row(1, "a@example.org")], TARGET)
    assert not limited.ok and limited.throttled and limited.retry_after == 1 and limited.status == 429
    [failed] = await channel.send([_row(1, "a@example.org")], TARGET)
    assert not failed.ok and not failed.throttled and not failed.permanent and failed.status == 503
    [done] = await channel.send([_row(1, "a@example.org")], TARGET)
    assert done.ok and fake.contacts


async def test_a_contact_hubspot_refuses_fails_alone_and_its_batch_mates_are_written(
        hubspot: tuple[FakeHubSpot, HubSpotChannel]) -> None:
    fake, channel = hubspot
    outcomes = await channel.send([_row(1, "good@example.org"), _row(2, "not-an-email"),
                                   _row(3, "fine@example.org")], TARGET)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].permanent and outcomes[1].error == "HubSpot refused the contact (400 VALIDATION_ERROR)"
    assert "not-an-email" not in (outcomes[1].error or "")  # never the lead's data in the log
    assert {c["properties"]["email"] for c in fake.contacts.values()} == {"good@example.org", "fine@example.org"}


async def test_a_wrong_token_is_retried_not_given_up(hubspot: tuple[FakeHubSpot, HubSpotChannel]) -> None:
    fake, _ = hubspot
    async with serve(fake.app()) as base, httpx.AsyncClient() as http:
        channel = HubSpotChannel(http=http, api_url=base, access_token="revoked", timeout=5)
        [outcome] = await channel.send([_row(1, "a@example.org")], TARGET)
    assert not outcome.ok and outcome.status == 401 and not outcome.permanent and not fake.contacts


async def test_no_answer_within_the_deadline_is_a_retryable_failure() -> None:
    async with httpx.AsyncClient() as http:
        channel = HubSpotChannel(http=http, api_url="http://127.0.0.1:9", access_token="t", timeout=2)
        [outcome] = await channel.send([_row(1, "a@example.org")], TARGET)
    assert not outcome.ok and not outcome.permanent and "unreachable" in (outcome.error or "")
