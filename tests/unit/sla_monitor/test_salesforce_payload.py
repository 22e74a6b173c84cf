"""What a Salesforce write-back carries: the rep as owner, the Lead's id when known (learned links first), the
Lead's standard fields with web-to-lead's placeholders; and why one cannot be sent, without the lead's data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import AssignedRep, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.channels.base import AssignmentContext, NotDeliverable
from sla_monitor.channels.salesforce import assignment_payload, soql_literal

OWNER = "0055e000001AbCdAAK"
LEAD = "00Q5e000002XyZwEAK"


def _event(*, owner: str | None = OWNER, contact: LeadContact | None = None, **lead: Any) -> LeadAssigned:
    return LeadAssigned(lead_id="l-1", team="na", rep_id="rep-a", urgency="hot", rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime(2026, 1, 5, tzinfo=UTC),
                        lead=LeadSummary(**lead), contact=contact,
                        rep=AssignedRep(name="Rep", crm={"salesforce_user_id": owner}))  # type: ignore[arg-type]


def _context(**links: str) -> AssignmentContext:
    return AssignmentContext(due_at=None, url="http://x", now=datetime(2026, 1, 5, tzinfo=UTC), links=links)


def test_the_lead_fields_map_to_salesforces_standard_ones() -> None:
    contact = LeadContact(email=" ana@example.org ", phone="+1 415", title="CFO", country="US", region="CA",
                          postal_code="94105", industry="fintech", employees=1200)
    payload = assignment_payload(_event(contact=contact, first_name="Ana", last_name="Ruiz", company="Fintastic",
                                        source="web_form", campaign="q4"), _context())
    assert payload == {"owner_id": OWNER, "id": None, "email": "ana@example.org", "fields": {
        "FirstName": "Ana", "LastName": "Ruiz", "Company": "Fintastic", "Email": "ana@example.org",
        "Phone": "+1 415", "Title": "CFO", "Country": "US", "State": "CA", "PostalCode": "94105",
        "Industry": "fintech", "NumberOfEmployees": 1200, "LeadSource": "web_form"}}


def test_missing_last_name_and_company_get_web_to_leads_placeholder_and_long_values_are_cut() -> None:
    payload = assignment_payload(_event(first_name="A" * 60), _context())
    assert payload["fields"] == {"FirstName": "A" * 40, "LastName": "[not provided]", "Company": "[not provided]"}
    assert payload["email"] is None and payload["id"] is None


def test_an_id_learned_since_routing_wins_over_the_one_routed_with() -> None:
    contact = LeadContact(external_ids={"salesforce": "00Q5e000009AAAAAAA"})
    assert assignment_payload(_event(contact=contact), _context(salesforce=LEAD))["id"] == LEAD
    assert assignment_payload(_event(contact=contact), _context(hubspot="12"))["id"] == "00Q5e000009AAAAAAA"


@pytest.mark.parametrize(("owner", "ids", "reason"), [
    (None, {}, "the rep has no crm.salesforce_user_id"),
    ("not an id!", {}, "the rep's crm.salesforce_user_id is not a Salesforce id"),
    (OWNER, {"salesforce": "00Q/../../x"}, "external_ids.salesforce is not a Salesforce id"),
    (OWNER, {"salesforce": "0035e000001AbCdAAK"}, "known in Salesforce as a Contact"),
])
def test_a_write_back_that_cannot_be_sent_says_why_without_the_leads_data(
        owner: str | None, ids: dict[str, str], reason: str) -> None:
    contact = LeadContact(email="ana@example.org", external_ids=ids)  # type: ignore[arg-type]
    with pytest.raises(NotDeliverable) as refused:
        assignment_payload(_event(owner=owner, contact=contact, first_name="Ana"), _context())
    assert reason in str(refused.value)
    assert "ana@example.org" not in str(refused.value) and "Ana" not in str(refused.value)


def test_soql_literals_escape_quotes_backslashes_and_control_characters() -> None:
    assert soql_literal("o'brien\\x@example.org") == "'o\\'brien\\\\x@example.org'"
    assert soql_literal('a"b\nc\td') == "'a\\\"b\\nc\\td'"
