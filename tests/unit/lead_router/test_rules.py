"""Rule matching: the first rule by ascending priority whose every condition holds wins, in plain words."""

from __future__ import annotations

from lead_router.domain.matching import match_rules
from tests.unit.lead_router.factories import config

RULES = [
    {"id": "late", "priority": 50, "match": {"country": ["US"]}, "team": "desk", "urgency": "cold"},
    {"id": "fintech", "priority": 10, "team": "na", "urgency": "hot", "match": {
        "country": ["US", "CA"], "region": ["CA", "WA"], "postal_code_prefix": ["94", "98"],
        "industry": ["fintech", "banking"], "employees": {"min": 200, "max": 5000}, "source": ["web_form"],
        "intent": ["demo_request", "pricing"]}},
]
FULL = {"country": "US", "region": "CA", "postal_code": "94105", "industry": "Fintech", "employees": 1200,
        "source": "web_form", "intent": "pricing"}


def test_a_lead_meeting_every_condition_gets_the_rule_with_each_check_in_words() -> None:
    outcome = match_rules(config(rules=RULES), FULL)
    assert (outcome.team, outcome.urgency, outcome.rule_id) == ("na", "hot", "fintech")
    assert outcome.explanation == [
        "rule fintech: country US is in [US, CA]; region CA is in [CA, WA]; postal_code 94105 starts with one of "
        "[94, 98]; industry Fintech is in [fintech, banking]; employees 1200 is within 200-5000; "
        "source web_form is in [web_form]; intent pricing is in [demo_request, pricing] — matched"]


def test_rules_are_tried_in_ascending_priority_whatever_their_order_in_the_document() -> None:
    outcome = match_rules(config(rules=RULES), {**FULL, "industry": "retail"})
    assert outcome.rule_id == "late"
    assert outcome.explanation[0].endswith("industry retail is not in [fintech, banking] — skipped")


def test_a_missing_lead_field_fails_the_condition_that_needs_it() -> None:
    outcome = match_rules(config(rules=RULES[1:]), {k: v for k, v in FULL.items() if k != "employees"})
    assert outcome.rule_id is None
    assert "employees is missing (needs 200-5000)" in outcome.explanation[0]


def test_employee_bounds_are_inclusive_and_open_ended_ranges_work() -> None:
    rules = [{"id": "big", "priority": 1, "match": {"employees": {"min": 1000}}, "team": "na", "urgency": "warm"}]
    assert match_rules(config(rules=rules), {"employees": 1000}).rule_id == "big"
    assert match_rules(config(rules=rules), {"employees": 999}).explanation[0] == \
        "rule big: employees 999 is outside at least 1000 — skipped"


def test_a_lead_no_rule_matches_goes_to_the_fallback_and_says_so() -> None:
    outcome = match_rules(config(rules=RULES), {"country": "FR"})
    assert (outcome.team, outcome.urgency, outcome.rule_id) == ("desk", "warm", None)
    assert outcome.explanation[-1] == "no rule matched: fallback to team desk, urgency warm"
    assert len(outcome.explanation) == 3


def test_matching_ignores_case() -> None:
    rules = [{"id": "r", "priority": 1, "match": {"country": ["us"], "source": ["Web_Form"]}, "team": "na",
              "urgency": "hot"}]
    assert match_rules(config(rules=rules), {"country": "US", "source": "web_form"}).rule_id == "r"
