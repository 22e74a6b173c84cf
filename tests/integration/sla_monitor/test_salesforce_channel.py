"""The Salesforce channel against a local Salesforce over real HTTP: the rep becomes the Lead's owner, a Lead is
created only when none is known or found by email, retries never duplicate one, and each answer becomes the
right outcome (retried, throttled or refused for good, never quoting the lead's data)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from shared.events import AssignedRep, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.channels.base import AssignmentContext, Outcome
from sla_monitor.channels.salesforce import SalesforceChannel, assignment_payload
from tests.integration.sla_monitor.salesforce_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    OWNER_A,
    OWNER_B,
    SalesforceFake,
)
from tests.support import serve


@dataclass
class Setup:
    fake: SalesforceFake
    url: str
    http: httpx.AsyncClient

    def channel(self, *, secret: str = CLIENT_SECRET, timeout: float = 5.0, concurrency: int = 8
                ) -> SalesforceChannel:
        return SalesforceChannel(http=self.http, instance_url=self.url, client_id=CLIENT_ID, client_secret=secret,
                                 api_version="v62.0", timeout=timeout, concurrency=concurrency)


@pytest.fixture
async def salesforce() -> AsyncIterator[Setup]:
    fake = SalesforceFake()
    async with serve(fake.app()) as url, httpx.AsyncClient() as http:
        yield Setup(fake, url, http)


def row(lead_id: str, *, owner: str = OWNER_A, email: str | None = "ana@example.org", known: str | None = None,
        **lead: Any) -> Any:
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id="rep-a", urgency="hot", rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC),
                        lead=LeadSummary(**{"first_name": "Ana", "last_name": "Ruiz", "company": "Fintastic",
                                            "source": "web_form", **lead}),
                        rep=AssignedRep(name="Rep", crm={"salesforce_user_id": owner}),  # type: ignore[arg-type]
                        contact=LeadContact(email=email, phone="+1 415 555 0100", title="CFO", country="US",
                                            region="CA", postal_code="94105", industry="fintech", employees=1200,
                                            external_ids={"salesforce": known} if known else {}))
    context = AssignmentContext(due_at=None, url="http://x/leads/1", now=datetime.now(UTC))
    return SimpleNamespace(lead_id=lead_id, payload=json.dumps(assignment_payload(data, context)))


TARGET: Any = SimpleNamespace(id="builtin-salesforce", format="salesforce")


async def test_a_new_lead_is_created_with_the_rep_as_owner_and_the_standard_fields(salesforce: Setup) -> None:
    channel = salesforce.channel()
    [outcome] = await channel.send([row("l-1", last_name=None, company=None)], TARGET)
    [(lead_id, lead)] = salesforce.fake.leads.items()
    assert outcome == Outcome(True, 201, None, linked=("salesforce", lead_id))
    assert lead == {"IsConverted": False, "OwnerId": OWNER_A, "FirstName": "Ana", "LastName": "[not provided]",
                    "Company": "[not provided]", "Email": "ana@example.org", "Phone": "+1 415 555 0100",
                    "Title": "CFO", "Country": "US", "State": "CA", "PostalCode": "94105", "Industry": "fintech",
                    "NumberOfEmployees": 1200, "LeadSource": "web_form"}
    assert salesforce.fake.auto_assign == ["FALSE"]  # the org's assignment rules must not replace the owner
    [second] = await channel.send([row("l-2", email="bo@example.org")], TARGET)
    assert second.ok and salesforce.fake.count("token") == 1  # the token is cached


async def test_a_known_lead_is_updated_not_looked_up_nor_created(salesforce: Setup) -> None:
    known = salesforce.fake.new_lead(LastName="Ruiz", Company="Fintastic", OwnerId=OWNER_B)
    [outcome] = await salesforce.channel().send([row("l-1", known=known)], TARGET)
    assert outcome == Outcome(True, 204, None, linked=("salesforce", known))
    assert salesforce.fake.leads[known]["OwnerId"] == OWNER_A and len(salesforce.fake.leads) == 1
    assert salesforce.fake.count("query") == 0 and salesforce.fake.count("create") == 0


async def test_a_lead_marketing_created_is_found_by_email_with_quotes_and_backslashes_escaped(
        salesforce: Setup) -> None:
    email = "o'brien\\x@example.org"
    existing = salesforce.fake.new_lead(LastName="O'Brien", Company="Acme", Email=email.upper())
    [outcome] = await salesforce.channel().send([row("l-1", email=email)], TARGET)
    assert outcome.ok and outcome.linked == ("salesforce", existing)
    assert salesforce.fake.leads[existing]["OwnerId"] == OWNER_A and len(salesforce.fake.leads) == 1
    assert salesforce.fake.count("query", 200) == 1 and salesforce.fake.count("create") == 0


async def test_a_create_whose_answer_was_lost_is_found_on_the_retry_not_created_twice(salesforce: Setup) -> None:
    salesforce.fake.lose_creates = 1
    channel = salesforce.channel()
    [first] = await channel.send([row("l-1")], TARGET)
    assert not first.ok and not first.permanent and first.status == 500
    [retried] = await channel.send([row("l-1")], TARGET)
    [(lead_id, lead)] = salesforce.fake.leads.items()
    assert retried.ok and retried.linked == ("salesforce", lead_id) and lead["OwnerId"] == OWNER_A
    assert salesforce.fake.count("create") == 1 and salesforce.fake.count("update", 204) == 1


async def test_a_503_is_retried_later_and_a_401_gets_one_fresh_token(salesforce: Setup) -> None:
    channel = salesforce.channel()
    salesforce.fake.fail_next("query", 503)
    [unavailable] = await channel.send([row("l-1")], TARGET)
    assert (unavailable.ok, unavailable.permanent, unavailable.status) == (False, False, 503)
    assert "SERVER_UNAVAILABLE" in (unavailable.error or "")
    salesforce.fake.expire_tokens()
    [refreshed] = await channel.send([row("l-1")], TARGET)
    assert refreshed.ok and len(salesforce.fake.leads) == 1
    assert salesforce.fake.count("token") == 2 and salesforce.fake.count("query", 401) == 1
    salesforce.fake.fail_next("update", 401, [{"message": "Session expired or invalid",
                                               "errorCode": "INVALID_SESSION_ID"}])
    salesforce.fake.fail_next("update", 401, [{"message": "Session expired or invalid",
                                               "errorCode": "INVALID_SESSION_ID"}])
    [refused] = await channel.send([row("l-1")], TARGET)
    assert (refused.ok, refused.permanent, refused.status) == (False, False, 401)
    assert salesforce.fake.count("token") == 3  # one fresh token for the refused request, then it gives up


async def test_refused_client_credentials_are_retried_without_naming_the_secret(salesforce: Setup) -> None:
    [outcome] = await salesforce.channel(secret="wrong-secret").send([row("l-1")], TARGET)
    assert (outcome.ok, outcome.permanent, outcome.status) == (False, False, 400)
    assert "invalid_client" in (outcome.error or "") and "wrong-secret" not in (outcome.error or "")
    assert salesforce.fake.leads == {}


async def test_an_api_limit_throttles_the_rest_of_the_batch_without_calling(salesforce: Setup) -> None:
    salesforce.fake.fail_next("query", 403, [{"message": "TotalRequests Limit exceeded.",
                                              "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    channel = salesforce.channel(concurrency=1)  # so the second starts after the first was throttled
    outcomes = await channel.send([row("l-1"), row("l-2", email="bo@example.org")], TARGET)
    assert all(o.throttled and not o.ok and o.retry_after == 60 for o in outcomes), outcomes
    assert salesforce.fake.count("query") == 1 and salesforce.fake.leads == {}
    other = SalesforceFake()
    other.fail_next("query", 429, None, **{"Retry-After": "7"})
    async with serve(other.app()) as url:
        limited = SalesforceChannel(http=salesforce.http, instance_url=url, client_id=CLIENT_ID,
                                    client_secret=CLIENT_SECRET, api_version="v62.0", timeout=5)
        [outcome] = await limited.send([row("l-3")], TARGET)
    assert outcome.throttled and outcome.retry_after == 7 and outcome.status == 429


async def test_a_refused_lead_fails_alone_recording_only_salesforces_error_code(salesforce: Setup) -> None:
    salesforce.fake.refused_emails.add("bad@example.org")
    outcomes = await salesforce.channel().send(
        [row("ok-1", email="one@example.org"), row("bad", email="bad@example.org"),
         row("ok-2", email="two@example.org")], TARGET)
    assert [o.ok for o in outcomes] == [True, False, True]
    refused = outcomes[1]
    assert refused.permanent and refused.status == 400
    assert refused.error == "Salesforce refused the Lead (400 INVALID_EMAIL_ADDRESS)"
    assert sorted(lead["Email"] for lead in salesforce.fake.leads.values()) == ["one@example.org", "two@example.org"]


async def test_write_backs_of_one_lead_or_email_in_a_batch_make_one_lead_owned_by_the_last_assignment(
        salesforce: Setup) -> None:
    salesforce.fake.query_delay = 0.2  # write-backs sent at once would all find nothing and create
    outcomes = await salesforce.channel().send(
        [row("l-1"), row("l-1", owner=OWNER_B), row("l-2", email="ANA@example.org"), row("l-3", email="x@y.org")],
        TARGET)
    ana = [lead_id for lead_id, lead in salesforce.fake.leads.items() if lead["Email"] == "ana@example.org"]
    assert [o.linked for o in outcomes[:3]] == [("salesforce", ana[0])] * 3 and len(ana) == 1
    assert salesforce.fake.leads[ana[0]]["OwnerId"] == OWNER_A  # l-2 (the same person, later) was assigned to A
    assert salesforce.fake.count("create") == 2 and salesforce.fake.count("update", 204) == 2 and outcomes[3].ok


async def test_a_create_whose_answer_never_comes_is_found_on_the_retry(salesforce: Setup) -> None:
    salesforce.fake.create_delay = 1.0
    channel = salesforce.channel(timeout=0.3)
    [late] = await channel.send([row("l-1")], TARGET)
    assert not late.ok and not late.permanent and "no answer within 0.3s" in (late.error or "")
    salesforce.fake.create_delay = 0
    [retried] = await channel.send([row("l-1")], TARGET)
    assert retried.ok and len(salesforce.fake.leads) == 1
