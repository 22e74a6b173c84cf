"""``POST /v1/reports/predict-sla`` over real HTTP, learning from clocks met and breached through the real
pipeline (a real broker and database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.sla_monitor.conftest import Monitor, activity, assigned, clocks_of, send
from tests.support import eventually


async def test_the_prediction_uses_each_reps_observed_responses_under_todays_windows(monitor: Monitor) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    for n in range(10):  # rep-a answers warm leads in ten minutes: met, but slower than the hot window (1s)
        await send(monitor.kafka, assigned(f"a-{n}", urgency="warm", rep_id="rep-a", at=two_hours_ago))
        await eventually(clocks_of(monitor, f"a-{n}"))
        await send(monitor.kafka, activity(f"a-{n}", f"call-{n}", at=two_hours_ago + timedelta(minutes=10)))
        await eventually(clocks_of(monitor, f"a-{n}", state="met"))
    for n in range(2):  # rep-b never answers
        await send(monitor.kafka, assigned(f"b-{n}", urgency="hot", rep_id="rep-b"))
        await eventually(clocks_of(monitor, f"b-{n}", state="breached"))
    answer = await monitor.http.post("/v1/reports/predict-sla", json={"days": 1, "scenarios": {
        "draft": [{"rep_id": "rep-a", "team": "na", "urgency": "warm", "count": 3},
                  {"rep_id": "rep-b", "team": "na", "urgency": "hot", "count": 1}],
        "actual": [{"rep_id": "rep-a", "team": "na", "urgency": "hot", "count": 4}]}})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["observed_within_sla_pct"] == round(100 * 10 / 12, 1)
    assert result["scenarios"]["draft"]["predicted_within_sla_pct"] == 75.0
    assert result["scenarios"]["draft"]["reps"] == [
        {"rep_id": "rep-a", "team": "na", "leads": 3, "predicted_within_sla_pct": 100.0, "samples": 10,
         "basis": "rep"},
        {"rep_id": "rep-b", "team": "na", "leads": 1, "predicted_within_sla_pct": 0.0, "samples": 12,
         "basis": "team"}]
    assert result["scenarios"]["actual"]["predicted_within_sla_pct"] == 0.0


async def test_a_bad_request_names_the_field(monitor: Monitor) -> None:
    answer = await monitor.http.post("/v1/reports/predict-sla", json={"days": 0, "scenarios": {
        "draft": [{"rep_id": "rep-a", "team": "na", "urgency": "urgent", "count": 1}]}})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"days", "scenarios.draft.0.urgency"}
