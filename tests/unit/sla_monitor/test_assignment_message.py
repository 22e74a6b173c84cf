"""The Slack message of a ``lead.assigned`` subscription: the rep mentioned, the lead described, its window and a
link — and nothing a lead typed can mention, link or format."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events import AssignedRep, LeadAssigned, LeadSummary
from sla_monitor.assignments import assignment_slack_message, lead_url

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DUE_TS = int((NOW + timedelta(minutes=30)).timestamp())
URL = "https://crm.example.com/leads/l-1?view=full&tab=1"


def _assigned(*, rep: AssignedRep | None = None, reason: str = "initial", **lead: Any) -> LeadAssigned:
    summary = {"first_name": "Ana", "last_name": "Ruiz", "company": "Fintastic", "source": "web_form",
               "campaign": "q4-demo", **lead}
    return LeadAssigned(lead_id="l-1", team="na", rep_id="rep-ana", urgency="hot", rule_id="r1",  # type: ignore[arg-type]
                        explanation=[], assigned_at=NOW, reason=reason, lead=LeadSummary(**summary), rep=rep)  # type: ignore[arg-type]


def _text(data: LeadAssigned, due_at: datetime | None = NOW + timedelta(minutes=30), url: str = URL) -> str:
    return assignment_slack_message(data, due_at=due_at, url=url, now=NOW)["text"]


def test_the_rep_is_mentioned_and_the_lead_its_urgency_window_and_link_are_named() -> None:
    text = _text(_assigned(rep=AssignedRep(name="Ana Rep", slack_user_id="U024BE7LH")))
    assert text.startswith("*New lead* for <@U024BE7LH>: Ana Ruiz at Fintastic")
    for part in ("source web_form", "campaign q4-demo", "urgency hot", "team na", "in 30 min",
                 f"<!date^{DUE_TS}^{{date_short_pretty}} {{time}}|2026-11-27 09:30 UTC>",
                 "<https://crm.example.com/leads/l-1?view=full&amp;tab=1|Open the lead>"):
        assert part in text, part


def test_without_a_slack_member_id_the_rep_is_named_and_a_malformed_one_is_never_a_mention() -> None:
    assert "*New lead* for Ana Rep:" in _text(_assigned(rep=AssignedRep(name="Ana Rep")))
    assert "*New lead* for rep-ana:" in _text(_assigned())
    odd = _text(_assigned(rep=AssignedRep(name="<!here>", slack_user_id="U1> <!channel")))
    assert "<!here" not in odd and "<!channel" not in odd and "<@" not in odd and "&lt;!here&gt;" in odd


@pytest.mark.parametrize("hostile", ["<!channel>", "<https://evil.example|Open lead in CRM>", "Smith & Sons",
                                     "*bold*", "<@U999>", "line\n> quoted"])
def test_every_lead_supplied_string_stays_literal_text(hostile: str) -> None:
    text = _text(_assigned(first_name=hostile, company=hostile, source=hostile[:64], campaign=hostile))
    mentions_and_links = re.findall(r"<[^>]*>", text)
    # the only markup is ours: the due date and the lead link
    assert [m.split("^")[0].split("|")[0] for m in mentions_and_links] == [
        "<!date", "<https://crm.example.com/leads/l-1?view=full&amp;tab=1"]
    assert "&amp;" in text if "&" in hostile else True
    assert "*bold*" not in text and "\n>" not in text


def test_a_reassignment_says_so() -> None:
    assert _text(_assigned(reason="reassigned")).startswith("*Lead reassigned* for rep-ana")


def test_with_no_window_for_the_urgency_the_message_says_so() -> None:
    assert "no first-response window for urgency hot" in _text(_assigned(), due_at=None)


def test_a_window_in_business_hours_far_away_reads_in_hours_or_days() -> None:
    assert "in 20 h" in _text(_assigned(), due_at=NOW + timedelta(hours=20))
    assert "in 3 days" in _text(_assigned(), due_at=NOW + timedelta(days=3))


def test_the_lead_id_is_percent_encoded_into_the_link_template() -> None:
    assert lead_url("https://crm.example.com/leads/{lead_id}", "a/b?c") == "https://crm.example.com/leads/a%2Fb%3Fc"
    text = _text(_assigned(), url="https://x.example/l/a|b")
    assert "<https://x.example/l/a%7Cb|Open the lead>" in text


@pytest.mark.parametrize("template", ["https://crm.example.com/leads", "https://crm.example.com/{id}",
                                      "https://x.example/{lead_id}/{other}", "ftp://x.example/{lead_id}",
                                      "javascript:alert(1)//{lead_id}", "https://x.example/a b/{lead_id}"])
def test_a_lead_url_template_that_cannot_make_a_link_stops_the_monitor_from_starting(template: str) -> None:
    from pydantic import ValidationError

    from sla_monitor.settings import SlaMonitorSettings

    with pytest.raises(ValidationError, match="LEAD_URL_TEMPLATE"):
        SlaMonitorSettings(admin_token="x", lead_url_template=template)  # type: ignore[arg-type]
    assert SlaMonitorSettings(admin_token="x").lead_url_template.endswith("/v1/leads/{lead_id}")  # type: ignore[arg-type]
