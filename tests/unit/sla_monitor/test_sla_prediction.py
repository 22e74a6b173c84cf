"""Predicting % within SLA from observed first responses: judged by today's window, unanswered clocks late once
due, too few samples fall back to the team and then everyone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sla_monitor.domain.policies import parse_policies
from sla_monitor.domain.prediction import MIN_SAMPLES, Demand, Observation, judged, predict

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
POLICIES = parse_policies({"policies": {"hot": {"first_response": "30m"}, "warm": {"first_response": "4h"},
                                        "cold": {"first_response": "1h", "business_hours": {
                                            "timezone": "UTC", "hours": {"fri": "09:00-17:00"}}}}})


def _answered(rep: str | None, team: str, minutes: float, *, at: datetime = NOW - timedelta(days=1)) -> Observation:
    return Observation(rep, team, "met", at, at + timedelta(minutes=minutes), None)


def _unanswered(rep: str, team: str, *, started: datetime, state: str = "breached",
                cancelled: datetime | None = None) -> Observation:
    return Observation(rep, team, state, started, None, cancelled)


def test_a_clock_is_judged_by_the_window_it_is_given_not_the_one_it_had() -> None:
    clock = _answered("ana", "na", 45)
    assert judged(clock, clock.started_at + timedelta(minutes=30), NOW) is False
    assert judged(clock, clock.started_at + timedelta(hours=4), NOW) is True


def test_an_unanswered_clock_is_late_once_due_and_unknown_before() -> None:
    started = NOW - timedelta(minutes=10)
    running = _unanswered("ana", "na", started=started, state="running")
    assert judged(running, started + timedelta(minutes=5), NOW) is False
    assert judged(running, started + timedelta(minutes=30), NOW) is None
    cancelled_early = _unanswered("ana", "na", started=started, state="cancelled", cancelled=started)
    assert judged(cancelled_early, started + timedelta(minutes=5), NOW) is None


def test_a_reps_own_responses_predict_each_urgency_by_its_current_window() -> None:
    ana = [_answered("ana", "na", m) for m in [10] * 6 + [60] * 4]  # 6 in 30 minutes, all 10 in 4 hours
    result = predict({"draft": [Demand("ana", "na", "hot", 3), Demand("ana", "na", "warm", 1)]}, ana, POLICIES, NOW)
    (rep,) = result["scenarios"]["draft"]["reps"]
    assert rep == {"rep_id": "ana", "team": "na", "leads": 4, "predicted_within_sla_pct": 70.0, "samples": 10,
                   "basis": "rep"}  # (3 x 60% + 1 x 100%) / 4
    assert result["scenarios"]["draft"]["predicted_within_sla_pct"] == 70.0
    assert result["observed_within_sla_pct"] == 100.0  # every clock was met under the policy it had


def test_business_hours_windows_count_only_working_time() -> None:
    thursday_evening = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)
    # Answered Friday 09:20; only Fridays are working days here, so that took 20 working minutes.
    clocks = [_answered("ana", "na", 16 * 60 + 50, at=thursday_evening)] * MIN_SAMPLES
    result = predict({"x": [Demand("ana", "na", "cold", 1), Demand("ana", "na", "hot", 1)]}, clocks, POLICIES, NOW)
    assert result["scenarios"]["x"]["reps"][0]["predicted_within_sla_pct"] == 50.0  # cold within, hot late


def test_a_rep_with_few_clocks_falls_back_to_the_team_then_everyone() -> None:
    team = [_answered("ben", "na", 5)] * MIN_SAMPLES
    others = [_answered("zed", "emea", 500)] * MIN_SAMPLES
    new = [_answered("cy", "na", 500)] * (MIN_SAMPLES - 1)
    breached = [_unanswered("dee", "apac", started=NOW - timedelta(days=2))] * 3
    scenario = [Demand("cy", "na", "hot", 2), Demand(None, "na", "hot", 1), Demand("dee", "apac", "hot", 1)]
    reps = predict({"s": scenario}, team + others + new + breached, POLICIES, NOW)["scenarios"]["s"]["reps"]
    by_rep = {(r["rep_id"], r["team"]): (r["predicted_within_sla_pct"], r["basis"], r["samples"]) for r in reps}
    assert by_rep[("cy", "na")] == (round(100 * 10 / 19, 1), "team", 19)
    assert by_rep[(None, "na")] == (round(100 * 10 / 19, 1), "team", 19)
    assert by_rep[("dee", "apac")] == (round(100 * 10 / 32, 1), "everyone", 32)


def test_nothing_observed_predicts_nothing() -> None:
    result = predict({"draft": [Demand("ana", "na", "hot", 5)], "actual": []}, [], POLICIES, NOW)
    assert result == {"scenarios": {"draft": {"predicted_within_sla_pct": None, "reps": [
        {"rep_id": "ana", "team": "na", "leads": 5, "predicted_within_sla_pct": None, "samples": 0, "basis": None}]},
        "actual": {"predicted_within_sla_pct": None, "reps": []}}, "observed_within_sla_pct": None}
