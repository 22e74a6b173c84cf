"""Readable output: service errors, decisions, backtest tables, event lines."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from leadrouter_cli.api import describe_failure
from leadrouter_cli.backtest import prediction_request, reps_table, summary_lines, teams_table
from leadrouter_cli.console import seconds, timestamp
from leadrouter_cli.importing import rejected_table, summary
from leadrouter_cli.resume import ImportState
from leadrouter_cli.simulate import lead_from, render_decision
from leadrouter_cli.tail import describe


def _render(table: Table) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_a_422_lists_every_field_and_a_401_names_the_credential_to_fix() -> None:
    body = {"detail": "The routing document has 2 problem(s); nothing was changed.",
            "errors": [{"field": "rules[0].team", "message": "names no team"}, {"field": "fallback", "message": "x"}]}
    assert describe_failure("router", "POST", "/v1/routing/backtest", 422, body).splitlines() == [
        "router answered 422 to POST /v1/routing/backtest: The routing document has 2 problem(s); nothing was "
        "changed.", "  rules[0].team: names no team", "  fallback: x"]
    assert "--api-key" in describe_failure("intake", "POST", "/v1/leads/batch", 401, {"detail": "no"})
    assert "--token" in describe_failure("router", "GET", "/v1/admin/dlq", 401, None)
    assert describe_failure("sla-monitor", "GET", "/x", 502, None) == "sla-monitor answered 502 to GET /x."


def test_the_rejected_table_shows_row_line_field_and_reason_and_the_summary_counts() -> None:
    rejected = [{"row": 2, "line": 3, "errors": [{"field": "email", "message": "is not an email address"},
                                                 {"field": "source", "message": "Field required"}]}]
    shown = _render(rejected_table(rejected))
    assert "Rejected rows (1)" in shown
    assert "│   2 │    3 │ email  │ is not an email address" in shown and "source │ Field required" in shown
    state = ImportState("h", 2, {0: {"accepted": [{"row": 1, "lead_id": "a", "duplicate_of": "b"}],
                                     "rejected": rejected}})
    assert summary(state, total_rows=2, sent_now=1, skipped=0) == (
        "2 rows: 1 accepted (1 marked as duplicates of earlier leads), 1 rejected. Chunks: 1 sent now.")
    many = [{"row": n, "line": n + 1, "errors": []} for n in range(5)]
    assert "… and 3 more rows" in _render(rejected_table(many, limit=2))


def test_flags_override_the_json_lead_and_bad_json_is_a_sentence() -> None:
    assert lead_from({"country": "US", "employees": None}, '{"country": "DE", "intent": "pricing"}') == {
        "country": "US", "intent": "pricing"}
    for bad, message in (("{", "not valid JSON"), ("[1]", "must be a JSON object")):
        try:
            lead_from({}, bad)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError("no error")


def test_a_decision_reads_as_sentences_with_its_explanation() -> None:
    lines = render_decision({"team": "na", "rep_id": None, "urgency": "hot", "rule_id": None, "state": "queued",
                             "config_version": 3, "explanation": ["rule us: country US matched", "[b]x[/b]"]})
    assert lines[0] == "Team [bold]na[/], no rep yet (queued), urgency [bold]hot[/]"
    assert lines[1] == "Rule fallback, routing document version 3"
    assert lines[3:] == ["  • rule us: country US matched", "  • \\[b]x\\[/b]"]  # markup from data is escaped


BACKTEST: dict[str, Any] = {
    "from": "2026-10-28T00:00:00Z", "to": "2026-11-27T00:00:00Z", "days": 30, "leads": 40, "changed": 10,
    "duration_ms": 812.4, "current_version": 7,
    "teams": [{"team": "na", "actual": 30, "draft": 20}, {"team": "emea", "actual": 10, "draft": 20}],
    "reps": [{"rep_id": "ana", "team": "na", "actual": 30, "draft": 20},
             {"rep_id": None, "team": "emea", "actual": 10, "draft": 20}],
    "by_rep_urgency": {"draft": [{"rep_id": "ana", "team": "na", "urgency": "hot", "count": 20}],
                       "actual": [{"rep_id": "ana", "team": "na", "urgency": "hot", "count": 30}]},
}
PREDICTION = {"scenarios": {
    "draft": {"predicted_within_sla_pct": 91.25, "reps": [
        {"rep_id": "ana", "team": "na", "leads": 20, "predicted_within_sla_pct": 95.0, "samples": 41}]},
    "actual": {"predicted_within_sla_pct": 80.0, "reps": [
        {"rep_id": "ana", "team": "na", "leads": 30, "predicted_within_sla_pct": 95.0, "samples": 41}]}},
    "observed_within_sla_pct": 79.5}


def test_the_backtest_asks_for_both_scenarios_and_shows_teams_reps_and_the_prediction() -> None:
    assert prediction_request(BACKTEST, 30) == {"days": 30, "scenarios": BACKTEST["by_rep_urgency"]}
    teams = _render(teams_table(BACKTEST))
    assert "│ na   │     30 │    20 │    -10 │" in teams and "│ emea │     10 │    20 │    +10 │" in teams
    reps = _render(reps_table(BACKTEST, PREDICTION))
    assert "│ ana" in reps and "95.0%" in reps and "41" in reps
    assert "(queued, no rep)" in reps
    lines = summary_lines(BACKTEST, PREDICTION, prediction_ms=120)
    assert "40 leads, [bold]10[/] would go to another team or rep (25.0%)" in lines[0]
    assert lines[1] == "Predicted within SLA: draft [bold]91.2%[/] vs actual 80.0% (observed: 79.5%)."
    assert lines[2] == "Run time: backtest 812 ms (router), prediction 120 ms (sla-monitor, round trip)."
    assert len(summary_lines(BACKTEST, None, prediction_ms=None)) == 2


def test_an_event_line_has_time_type_lead_owner_and_the_time_that_matters_but_no_contact_details() -> None:
    breached = {"type": "sla.breached", "time": "2026-11-27T10:00:05Z", "lead_id": "lead-1",
                "data": {"team": "na", "rep_id": "ana", "urgency": "hot", "due_at": "2026-11-27T10:00:00Z",
                         "lead_name": "Jane Doe", "company": "Acme"}}
    line = describe(breached)
    assert line.startswith("10:00:05  [bold red]sla.breached    [/]  lead-1  na/ana/hot  overdue by 5s")
    assert "Jane" not in line
    warning = {**breached, "type": "sla.warning", "data": {**breached["data"], "due_at": "2026-11-27T10:05:05Z"}}
    assert "due in 5m 0s" in describe(warning)
    met = {"type": "sla.met", "time": "2026-11-27T10:00:05Z", "lead_id": "lead-1",
           "data": {"team": "na", "rep_id": "ana", "urgency": "hot", "response_seconds": 42.4}}
    assert describe(met).endswith("na/ana/hot  responded in 42s")
    assert describe({"type": "lead.linked", "time": "bad", "lead_id": "l", "data": {"crm": "hubspot",
                                                                                   "external_id": "901"}}) == (
        "--:--:--  lead.linked       l  hubspot 901")


def test_times_are_shown_to_the_second_in_utc() -> None:
    assert timestamp("2026-11-27T11:28:48.370541+01:00") == "2026-11-27 10:28:48Z"
    assert [timestamp(v) for v in (None, "soon")] == ["—", "soon"]


def test_durations_read_as_people_say_them() -> None:
    assert [seconds(v) for v in (None, 0, 59.6, 61, 3725, -90)] == ["—", "0s", "1m 0s", "1m 1s", "1h 2m", "-1m 30s"]
