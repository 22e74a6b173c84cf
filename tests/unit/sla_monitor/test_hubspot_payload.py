"""What an assignment writes to HubSpot: the contact by email, with the rep as its owner and the lead's fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events import AssignedRep, LeadAssigned, LeadContact, LeadSummary, RepCrmIds
from sla_monitor.channels.base import AssignmentContext, NotDeliverable
from sla_monitor.channels.hubspot import assignment_payload

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CONTEXT = AssignmentContext(due_at=None, url="http://x/leads/l1", now=NOW)


def _assigned(*, email: str | None = " Lia@Example.ORG ", owner: str | None = "41629779") -> LeadAssigned:
    return LeadAssigned(
        lead_id="l1", team="na", rep_id="rep-a", urgency="hot", rule_id=None, explanation=[], assigned_at=NOW,
        lead=LeadSummary(first_name="Lia", last_name=None, company="Fintastic"),
        contact=LeadContact(email=email, phone="+15550100", title="CFO"),
        rep=AssignedRep(name="Ana", crm=RepCrmIds(hubspot_owner_id=owner)))


def test_the_contact_is_upserted_by_its_lower_cased_email_with_the_rep_as_owner() -> None:
    payload = assignment_payload(_assigned(), CONTEXT)
    assert payload == {"idProperty": "email", "id": "lia@example.org", "properties": {
        "email": "lia@example.org", "hubspot_owner_id": "41629779", "firstname": "Lia", "company": "Fintastic",
        "phone": "+15550100", "jobtitle": "CFO"}}  # fields the lead lacks are left out, not blanked


def test_a_rep_without_a_hubspot_owner_id_still_gets_the_contact_written_without_an_owner() -> None:
    assert "hubspot_owner_id" not in assignment_payload(_assigned(owner=None), CONTEXT)["properties"]


def test_a_lead_without_email_cannot_be_upserted_and_says_why_without_personal_data() -> None:
    with pytest.raises(NotDeliverable, match="no email address"):
        assignment_payload(_assigned(email=None), CONTEXT)
