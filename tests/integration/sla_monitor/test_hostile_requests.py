"""The SLA monitor checks the token and the body size before it reads a body, and reads policy documents with
the shared safe reader: a 4xx naming the problem, never a 500."""

from __future__ import annotations

from tests.integration.sla_monitor.conftest import ADMIN, Monitor
from tests.raw_http import chunks, exchange

MiB = 1024 * 1024
HUGE = str(300 * MiB)

HOLIDAYS = b"""policies:
  hot:  {first_response: 30m, warn_before: 5m}
  warm:
    first_response: 24h
    business_hours:
      timezone: Europe/Berlin
      hours: {mon: "09:00-17:00", tue: "09:00-17:00"}
      holidays: [2026-12-25, 2026-12-26]
  cold: {first_response: 72h}
"""


async def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(monitor: Monitor) -> None:
    base = str(monitor.http.base_url)
    for method, path in (("PUT", "/v1/sla/policies"), ("POST", "/v1/subscriptions")):
        declared = await exchange(base, method, path, {"Content-Length": HUGE, "Content-Type": "application/json"})
        assert (declared.status, declared.body_bytes_sent) == (401, 0)
        streamed = await exchange(base, method, path, {"Transfer-Encoding": "chunked"}, body=chunks(300 * MiB))
        assert streamed.status == 401 and streamed.body_bytes_sent < 2 * MiB


async def test_an_authenticated_body_over_the_limit_is_a_413_before_it_is_read(monitor: Monitor) -> None:
    base = str(monitor.http.base_url)
    declared = await exchange(base, "PUT", "/v1/sla/policies", {**ADMIN, "Content-Length": HUGE})
    assert (declared.status, declared.body_bytes_sent) == (413, 0)
    policies = await exchange(base, "PUT", "/v1/sla/policies", {**ADMIN, "Transfer-Encoding": "chunked"},
                              body=chunks(300 * MiB))
    assert policies.status == 413 and MiB <= policies.body_bytes_sent < 3 * MiB
    subscription = await exchange(base, "POST", "/v1/subscriptions", {**ADMIN, "Transfer-Encoding": "chunked"},
                                  body=chunks(300 * MiB))
    assert subscription.status == 413 and subscription.body_bytes_sent < MiB


async def test_unquoted_yaml_holiday_dates_are_accepted_and_stored(monitor: Monitor) -> None:
    answer = await monitor.http.put("/v1/sla/policies", content=HOLIDAYS, headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200, answer.text
    stored = (await monitor.http.get("/v1/sla/policies")).json()
    assert stored["policies"]["warm"]["business_hours"]["holidays"] == ["2026-12-25", "2026-12-26"]


async def test_unreadable_policy_documents_are_a_422_naming_the_problem(monitor: Monitor) -> None:
    for body, content_type, problem in (
            (b"[" * 60_000 + b"]" * 60_000, "application/json", "nested deeper than"),
            (b'{"policies": ' + b"7" * 5_000 + b"}", "application/json", "5000 digits"),
            (b"policies: &p {hot: *p}\n", "application/yaml", "anchors and aliases"),
            (b"policies: {hot: {first_response: .inf}}\n", "application/yaml", "finite")):
        answer = await monitor.http.put("/v1/sla/policies", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 422, answer.text
        assert problem in answer.json()["errors"][0]["message"]
    assert (await monitor.http.get("/v1/sla/policies")).json()["version"] == 1

