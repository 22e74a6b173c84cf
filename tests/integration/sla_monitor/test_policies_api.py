"""SLA policies over HTTP: YAML or JSON, validated whole with paths, versioned; new clocks use the new windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.sla_monitor.conftest import Monitor, assigned, clocks_of, send
from tests.support import eventually

SLOWER = """policies:
  hot:  {first_response: 2h, warn_before: 10m}
  warm: {first_response: 48h}
  cold: {first_response: 5d}
"""


async def test_new_policies_apply_to_clocks_started_after_the_change(monitor: Monitor) -> None:
    assert (await monitor.http.get("/v1/sla/policies")).json()["version"] == 1
    answer = await monitor.http.put("/v1/sla/policies", content=SLOWER, headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200 and answer.json()["version"] == 2
    assert answer.json()["policies"]["hot"]["first_response"] == "2h"
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("after-change", at=start))
    [clock] = await eventually(clocks_of(monitor, "after-change"))
    assert datetime.fromisoformat(clock["due_at"]) == start + timedelta(hours=2)
    assert clock["policy_version"] == 2 and clock["state"] == "running"


async def test_invalid_policies_are_refused_with_every_path_and_nothing_changes(monitor: Monitor) -> None:
    answer = await monitor.http.put("/v1/sla/policies", json={"policies": {
        "hot": {"first_response": "whenever"}, "warm": {"first_response": "1h", "warn_before": "5m"},
        "cold": {"first_response": "1d", "business_hours": {"timezone": "Nowhere/Land", "hours": {"mon": "9-5"}}}}})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {
        "policies.hot.first_response", "policies.cold.business_hours.timezone", "policies.cold.business_hours.hours"}
    assert (await monitor.http.get("/v1/sla/policies")).json()["version"] == 1


async def test_every_service_endpoint_needs_the_admin_token(monitor: Monitor) -> None:
    for path in ("/v1/sla/policies", "/v1/subscriptions", "/v1/sla/clocks/x", "/v1/reports/speed-to-lead"):
        assert (await monitor.http.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_ops_endpoints_answer_without_credentials(monitor: Monitor) -> None:
    plain = {"Authorization": ""}
    assert (await monitor.http.get("/healthz", headers=plain)).json() == {"status": "ok"}

    async def ready() -> httpx.Response | None:
        answer = await monitor.http.get("/readyz", headers=plain)
        return answer if answer.status_code == 200 else None

    checks = (await eventually(ready, what="readiness")).json()["checks"]
    assert checks == {"database": "ok", "broker": "ok", "outbox_relay": "ok", "consumer": "ok", "ticker": "ok",
                      "delivery": "ok", "retention": "ok", "board_watch": "ok", "event_tail": "ok"}
    metrics = (await monitor.http.get("/metrics", headers=plain)).text
    assert "leadrouter_sla_owned_partitions" in metrics
    assert (await monitor.http.get("/openapi.json", headers=plain)).json()["info"]["title"] == "leadrouter sla-monitor"
    assert (await monitor.http.get("/docs", headers=plain)).status_code == 200
