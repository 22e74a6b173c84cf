"""Durations and SLA policy documents: written like people write them, refused with a path when wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from sla_monitor.domain.durations import format_duration, parse_duration
from sla_monitor.domain.policies import InvalidPolicies, parse_policies

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("text", "expected"), [
    ("45s", timedelta(seconds=45)), ("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
    ("3d", timedelta(days=3)), ("1h30m", timedelta(minutes=90)), (90, timedelta(seconds=90)),
    ("120", timedelta(seconds=120)), (1.5, timedelta(seconds=1.5)),
])
def test_durations_are_read_in_every_documented_spelling(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "", "10 minutes", "-5", True, None, "5x"])
def test_anything_else_is_refused_with_an_example(text: object) -> None:
    with pytest.raises(ValueError, match="e.g."):
        parse_duration(text)


def test_durations_are_written_back_in_the_shortest_exact_form() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (45, 1800, 86400, 259200, 90.5)] == \
        ["45s", "30m", "24h", "3d", "90.5s"]


def test_the_shipped_and_the_contract_policies_are_valid() -> None:
    shipped = parse_policies(yaml.safe_load((ROOT / "config" / "sla-policies.yaml").read_text()))
    assert shipped.for_urgency("hot").first_response == timedelta(minutes=30)
    contract = parse_policies(yaml.safe_load("""
policies:
  hot:  {first_response: 30m, warn_before: 5m}
  warm: {first_response: 24h, warn_before: 2h}
  cold: {first_response: 72h}
"""))
    assert contract.for_urgency("cold").warn_before is None


def _errors(document: object) -> dict[str, str]:
    with pytest.raises(InvalidPolicies) as caught:
        parse_policies(document)
    return {e["path"]: e["message"] for e in caught.value.errors}


def test_policy_problems_are_reported_with_their_paths() -> None:
    errors = _errors({"policies": {
        "hot": {"first_response": "soon", "clock_starts": "whenever",
                "business_hours": {"timezone": "Mars/Olympus", "hours": {"mon": "17:00-09:00"}}},
        "warm": {"first_response": "1h", "escalation": [{"after": "1h"}, {"after": "30m"}]},
        "cold": {"first_response": "3d", "follow_up": {"touches": 0, "within": "14d", "max_gap": "3d"}},
    }})
    assert set(errors) == {"policies.hot.first_response", "policies.hot.clock_starts",
                           "policies.hot.business_hours.timezone", "policies.hot.business_hours.hours",
                           "policies.warm.escalation", "policies.cold.follow_up.touches"}
    assert "'soon' is not a duration" in errors["policies.hot.first_response"]


def test_every_urgency_needs_a_policy_and_warnings_come_before_the_deadline() -> None:
    assert "missing: cold" in _errors({"policies": {"hot": {"first_response": "30m"},
                                                    "warm": {"first_response": "24h"}}})["policies"]
    assert "warn_before must be shorter" in _errors({"policies": {
        "hot": {"first_response": "30m", "warn_before": "30m"}, "warm": {"first_response": "24h"},
        "cold": {"first_response": "72h"}}})["policies"]
