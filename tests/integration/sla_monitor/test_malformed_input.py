"""Malformed input to the SLA monitor's API is a 4xx naming the problem, never a 500 (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.integration.sla_monitor.conftest import Monitor


def _fields(answer: object) -> set[str]:
    body = answer.json()  # type: ignore[attr-defined]
    return {e.get("field") or ".".join(str(p) for p in e.get("loc", [])) for e in body.get("errors", [])} | {
        ".".join(str(p) for p in e["loc"]) for e in body.get("detail", []) if isinstance(e, dict) and "loc" in e}


async def test_naive_report_bounds_are_refused_naming_the_parameter(monitor: Monitor) -> None:
    for name in ("from", "to"):
        answer = await monitor.http.get("/v1/reports/speed-to-lead", params={name: "2026-11-01T00:00:00"})
        assert answer.status_code == 422, answer.text
        assert f"query.{name}" in _fields(answer)
    answer = await monitor.http.get("/v1/reports/speed-to-lead",
                                    params={"from": "2026-11-01T00:00:00+01:00", "to": "2026-12-01T00:00:00Z"})
    assert answer.status_code == 200


async def test_policies_with_endless_or_infinite_durations_are_a_422_naming_the_field(monitor: Monitor) -> None:
    document = """policies:
  hot:  {first_response: 400d, escalation: [{after: 3000000d}]}
  warm: {first_response: 99999999999d}
  cold: {first_response: 72h, business_hours: {timezone: "../../../../etc/passwd", hours: {mon: "09:00-17:00"}}}
"""
    answer = await monitor.http.put("/v1/sla/policies", content=document,
                                    headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 422, answer.text
    assert {"policies.hot.first_response", "policies.hot.escalation[0].after", "policies.warm.first_response",
            "policies.cold.business_hours.timezone"} <= _fields(answer)
    infinite = "policies: {hot: {first_response: .inf}, warm: {first_response: 1h}, cold: {first_response: 1h}}"
    answer = await monitor.http.put("/v1/sla/policies", content=infinite, headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 422, answer.text  # refused by the document reader or the duration, never a 500
    assert (await monitor.http.get("/v1/sla/policies")).json()["version"] == 1


async def test_unquoted_yaml_holiday_dates_are_stored_as_dates(monitor: Monitor) -> None:
    document = """policies:
  hot:  {first_response: 30m}
  warm: {first_response: 24h, business_hours: {timezone: Europe/Berlin, hours: {mon: "09:00-17:00"},
                                               holidays: [2026-12-24, 2026-12-25]}}
  cold: {first_response: 72h}
"""
    answer = await monitor.http.put("/v1/sla/policies", content=document,
                                    headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200, answer.text
    stored = (await monitor.http.get("/v1/sla/policies")).json()
    assert stored["policies"]["warm"]["business_hours"]["holidays"] == ["2026-12-24", "2026-12-25"]


@pytest.mark.parametrize("path", ["/v1/sla/clocks/{id}", "/v1/subscriptions/{id}/deliveries"])
async def test_nul_bytes_and_control_characters_in_path_ids_are_a_422(monitor: Monitor, path: str) -> None:
    for bad in ("lead\x00id", "\x00", "a\x1fb"):
        answer = await monitor.http.get(path.format(id=quote(bad)))
        assert answer.status_code == 422, (bad, answer.text)
    assert (await monitor.http.delete(f"/v1/subscriptions/{quote('x' + chr(0))}")).status_code == 422
    assert (await monitor.http.get(path.format(id="x" * 5000))).status_code == 422


async def test_unknown_ids_are_still_a_404(monitor: Monitor) -> None:
    assert (await monitor.http.get("/v1/sla/clocks/nobody")).status_code == 404
    assert (await monitor.http.delete("/v1/subscriptions/nothing")).status_code == 404


async def test_huge_integers_in_query_parameters_are_a_422(monitor: Monitor) -> None:
    answer = await monitor.http.post("/v1/subscriptions", json={"url": monitor.hook_url})
    subscription = answer.json()["id"]
    for limit in ("9" * 5000, "-" + "9" * 5000, "99999999999999999999"):
        answer = await monitor.http.get(f"/v1/subscriptions/{subscription}/deliveries", params={"limit": limit})
        assert answer.status_code == 422, answer.text[:200]
    assert (await monitor.http.get("/v1/sla/clocks/" + "9" * 5000)).status_code == 422
