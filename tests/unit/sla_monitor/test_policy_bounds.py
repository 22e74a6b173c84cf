"""Policy documents that would validate but crash later are refused at validation, naming the field."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import yaml

from sla_monitor.domain.durations import parse_duration
from sla_monitor.domain.policies import InvalidPolicies, parse_policies

OTHERS = {"warm": {"first_response": "24h"}, "cold": {"first_response": "72h"}}


def _errors(hot: object) -> dict[str, str]:
    with pytest.raises(InvalidPolicies) as caught:
        parse_policies({"policies": {"hot": hot, **OTHERS}})
    return {e["path"]: e["message"] for e in caught.value.errors}


@pytest.mark.parametrize("value", ["3000000d", "99999999999d", "366d", 10**5000, math.inf, "9" * 5000, 1e300],
                         ids=["3000000d", "99999999999d", "366d", "5000-digit-int", "inf", "5000-digit-text", "1e300"])
def test_durations_over_365_days_are_refused_not_overflowed(value: object) -> None:
    with pytest.raises(ValueError, match="longer than 365 days"):
        parse_duration(value)


def test_nan_is_not_a_duration() -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_duration(math.nan)


def test_365_days_is_the_longest_duration() -> None:
    assert parse_duration("365d") == timedelta(days=365)


def test_an_endless_first_response_is_a_422_naming_the_field() -> None:
    assert "longer than 365 days" in _errors({"first_response": "3000000d"})["policies.hot.first_response"]


def test_an_endless_escalation_is_refused_naming_the_level() -> None:
    errors = _errors({"first_response": "30m", "escalation": [{"after": "1h"}, {"after": "3000000d"}]})
    assert "longer than 365 days" in errors["policies.hot.escalation[1].after"]


def test_yaml_infinity_and_huge_numbers_are_refused_with_paths() -> None:
    document = yaml.safe_load("""
policies:
  hot: {first_response: .inf, warn_before: 99999999999d}
  warm: {first_response: 24h, follow_up: {touches: 3, within: 1e400, max_gap: 3d}}
  cold: {first_response: 72h}
""")
    with pytest.raises(InvalidPolicies) as caught:
        parse_policies(document)
    paths = {e["path"] for e in caught.value.errors}
    assert {"policies.hot.first_response", "policies.hot.warn_before", "policies.warm.follow_up.within"} <= paths


def test_escalation_levels_and_holidays_are_counted() -> None:
    levels = [{"after": f"{n}h"} for n in range(1, 12)]
    assert "policies.hot.escalation" in _errors({"first_response": "30m", "escalation": levels})
    hours = {"timezone": "UTC", "hours": {"mon": "09:00-17:00"}, "holidays": ["2026-01-01"] * 400}
    assert "policies.hot.business_hours.holidays" in _errors({"first_response": "1h", "business_hours": hours})


def test_a_window_that_business_hours_cannot_reach_within_a_year_is_refused() -> None:
    hours = {"timezone": "UTC", "hours": {"mon": "09:00-10:00"}}
    message = _errors({"first_response": "300d", "business_hours": hours})["policies.hot"]
    assert "more than a year of these business hours" in message


def test_unquoted_yaml_dates_in_holidays_are_days_and_datetimes_are_refused() -> None:
    ok = yaml.safe_load("{timezone: UTC, hours: {mon: '09:00-17:00'}, holidays: [2026-12-25]}")
    parse_policies({"policies": {"hot": {"first_response": "1h", "business_hours": ok}, **OTHERS}})
    bad = yaml.safe_load("{timezone: UTC, hours: {mon: '09:00-17:00'}, holidays: [2026-12-25 10:30:00, 20261225]}")
    errors = _errors({"first_response": "1h", "business_hours": bad})
    assert "not a day" in errors["policies.hot.business_hours.holidays"]


@pytest.mark.parametrize("zone", ["Europe/" + "x" * 5000, "../../../../etc/passwd", "/etc/localtime", "UTC\x00",
                                  "Europe/Berlin/", ""], ids=["long", "relative-path", "absolute-path", "nul",
                                                              "trailing-slash", "empty"])
def test_time_zones_that_make_zoneinfo_raise_are_refused_naming_the_field(zone: str) -> None:
    hours = {"timezone": zone, "hours": {"mon": "09:00-17:00"}}
    errors = _errors({"first_response": "1h", "business_hours": hours})
    assert "invalid time zone" in errors["policies.hot.business_hours.timezone"]
    assert len(errors["policies.hot.business_hours.timezone"]) < 200
