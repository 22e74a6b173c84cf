"""The sla-monitor's admin and console requests run no dependency in a thread pool (see
``tests.support.thread_pool_dependency_calls``)."""

from __future__ import annotations

from tests.integration.sla_monitor.conftest import Monitor
from tests.support import thread_pool_dependency_calls


async def test_admin_requests_run_no_dependency_in_a_thread_pool(monitor: Monitor) -> None:
    with thread_pool_dependency_calls() as calls:
        assert (await monitor.http.get("/v1/reports/speed-to-lead")).status_code == 200
        assert (await monitor.http.get("/v1/deliveries")).status_code == 200
        assert (await monitor.http.get("/v1/deliveries", headers={"Authorization": "Bearer no"})).status_code == 401
        assert (await monitor.http.get("/ops/")).status_code in (303, 307)  # the console: sign in first
    assert calls == []
