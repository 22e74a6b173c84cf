"""Routing document validation reports every problem with its path, so nothing half-valid goes live."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lead_router.domain.config import InvalidDocument, parse_document
from tests.unit.lead_router.factories import document

ROOT = Path(__file__).resolve().parents[3]


def _errors(doc: object) -> dict[str, str]:
    with pytest.raises(InvalidDocument) as caught:
        parse_document(doc)
    return {e["path"]: e["message"] for e in caught.value.errors}


def test_the_shipped_routing_document_is_valid() -> None:
    parsed = parse_document(yaml.safe_load((ROOT / "config" / "routing.yaml").read_text()))
    assert {t.id for t in parsed.teams} == {"na-enterprise", "emea", "inbound-desk"}


def test_field_problems_are_all_reported_with_their_paths() -> None:
    doc = document(strategy="coin_flip", reps=[{"id": "rep-a", "timezone": "Mars/Olympus"}])
    doc["rules"][0]["urgency"] = "boiling"
    doc["rules"][0]["match"]["employees"] = {"min": 500, "max": 10}
    doc["rules"][0]["match"]["colour"] = ["red"]
    doc["teams"][1]["reps"] = []
    errors = _errors(doc)
    assert set(errors) == {"teams[0].strategy", "teams[0].reps[0].timezone", "teams[1].reps",
                           "rules[0].urgency", "rules[0].match.employees", "rules[0].match.colour"}
    assert "round_robin" in errors["teams[0].strategy"] and "'coin_flip'" in errors["teams[0].strategy"]
    assert errors["rules[0].match.employees"] == "min 500 is greater than max 10"
    assert errors["rules[0].match.colour"] == "is not a known field"


def test_references_and_duplicates_are_reported_with_their_paths() -> None:
    doc = document()
    doc["teams"].append({"id": "na", "reps": [{"id": "rep-z"}]})
    doc["rules"].append({"id": "us-demo", "priority": 20, "team": "ghosts", "urgency": "hot"})
    doc["fallback"]["team"] = "nobody"
    assert _errors(doc) == {
        "teams[2].id": "duplicate team id 'na'",
        "rules[1].id": "duplicate rule id 'us-demo'",
        "rules[1].team": "unknown team 'ghosts'",
        "fallback.team": "unknown team 'nobody'",
    }


def test_a_rep_listed_twice_in_a_team_is_refused() -> None:
    errors = _errors(document(reps=[{"id": "rep-a"}, {"id": "rep-a"}]))
    assert errors == {"teams[0]": "duplicate rep id 'rep-a'"}


def test_yaml_reading_norway_as_false_gets_a_helpful_message() -> None:
    doc = yaml.safe_load("country: [DE, NO]")
    errors = _errors(document(rules=[{"id": "r", "priority": 1, "match": doc, "team": "na", "urgency": "hot"}]))
    assert "quote it" in errors["rules[0].match.country"]


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert _errors(["teams"]) == {"": "the routing document must be a mapping"}


def test_field_problems_and_reference_problems_are_reported_together() -> None:
    doc = document(strategy="coin_flip")
    doc["rules"][0]["team"] = "ghosts"
    assert set(_errors(doc)) == {"teams[0].strategy", "rules[0].team"}


@pytest.mark.parametrize(("path", "value"), [
    ("ownership.lookback_days", 1_000_000),
    ("teams[0].queue_timeout_minutes", 10**12),
    ("teams[0].reps[0].capacity", 10**12),
    ("rules[0].priority", 10**30),
    ("rules[0].match.employees.max", 10**30),
])
def test_every_number_is_bounded_so_a_valid_document_cannot_fail_later(path: str, value: int) -> None:
    doc = document()
    doc.setdefault("ownership", {})
    target: dict = doc  # type: ignore[type-arg]
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})  # type: ignore[index]
    target[last] = value
    errors = _errors(doc)
    assert list(errors) == [path] and "less than or equal to" in errors[path]


def test_a_team_or_rule_id_that_is_a_list_is_a_field_problem_not_a_crash() -> None:
    doc = document()
    doc["teams"][0]["id"] = ["na", "emea"]
    doc["rules"][0]["id"] = ["us-demo"]
    doc["rules"][0]["team"] = ["na"]
    errors = _errors(doc)
    assert {"teams[0].id", "rules[0].id", "rules[0].team"} <= set(errors)
    assert all(message == "Input should be a valid string" for message in
               (errors["teams[0].id"], errors["rules[0].id"], errors["rules[0].team"]))
