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
