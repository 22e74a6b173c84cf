"""The reps listing: one entry per rep of the document, with availability and open leads against capacity."""

from __future__ import annotations

from datetime import UTC, datetime

from lead_router.domain.availability import RepState
from lead_router.domain.config import parse_document
from lead_router.domain.roster import roster
from tests.unit.lead_router.factories import config, document

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_every_rep_is_listed_once_in_document_order_with_the_document_details() -> None:
    reps = roster(config(reps=[{"id": "rep-a", "name": "Ana Ruiz", "timezone": "America/New_York", "capacity": 5},
                               {"id": "rep-b"}]), {}, now=NOW)
    assert [r["rep_id"] for r in reps] == ["rep-a", "rep-b", "rep-x"]
    assert reps[0] == {"rep_id": "rep-a", "name": "Ana Ruiz", "team": "na", "teams": ["na"], "active": True,
                       "out_of_office_until": None, "capacity": 5, "open_leads": 0, "timezone": "America/New_York",
                       "unavailable_reason": None}
    assert (reps[1]["name"], reps[1]["capacity"], reps[1]["timezone"]) == (None, None, "UTC")


def test_state_overrides_capacity_and_says_why_a_rep_cannot_take_leads() -> None:
    states = {"rep-a": RepState(capacity=2, open_leads=2),
              "rep-b": RepState(out_of_office_until=datetime(2026, 12, 1, 9, tzinfo=UTC)),
              "rep-x": RepState(active=False, open_leads=1)}
    by_id = {r["rep_id"]: r for r in roster(config(reps=[{"id": "rep-a", "capacity": 10}, {"id": "rep-b"}]),
                                            states, now=NOW)}
    assert (by_id["rep-a"]["capacity"], by_id["rep-a"]["open_leads"]) == (2, 2)
    assert by_id["rep-a"]["unavailable_reason"] == "rep-a at capacity (2/2 open leads)"
    assert by_id["rep-b"]["out_of_office_until"] == "2026-12-01T09:00:00+00:00"
    assert by_id["rep-b"]["unavailable_reason"] == "rep-b out of office until 2026-12-01"
    assert (by_id["rep-x"]["active"], by_id["rep-x"]["unavailable_reason"]) == (False, "rep-x is inactive")


def test_an_out_of_office_date_in_the_past_makes_the_rep_available_again() -> None:
    states = {"rep-a": RepState(out_of_office_until=datetime(2026, 11, 25, 14, 59, tzinfo=UTC))}
    [rep_a, *_] = roster(config(), states, now=NOW)
    assert rep_a["out_of_office_until"] is not None and rep_a["unavailable_reason"] is None


def test_a_rep_in_two_teams_is_listed_once_and_available_if_any_team_can_route_to_them_now() -> None:
    both = document(working_hours={"days": {"mon": ["09:00", "10:00"]}})  # team na is closed on a Wednesday
    both["teams"][1]["reps"].append({"id": "rep-a"})
    reps = roster(parse_document(both), {}, now=NOW)
    [rep_a] = [r for r in reps if r["rep_id"] == "rep-a"]
    assert (rep_a["team"], rep_a["teams"], rep_a["unavailable_reason"]) == ("na", ["na", "desk"], None)
    [rep_b] = [r for r in reps if r["rep_id"] == "rep-b"]
    assert rep_b["unavailable_reason"] == "rep-b outside working hours (15:00 UTC)"
