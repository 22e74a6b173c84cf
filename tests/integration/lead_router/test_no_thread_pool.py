"""The router's admin requests run no dependency in a thread pool (see
``tests.support.thread_pool_dependency_calls``)."""

from __future__ import annotations

from tests.integration.lead_router.conftest import Router
from tests.support import thread_pool_dependency_calls


async def test_admin_requests_run_no_dependency_in_a_thread_pool(router: Router) -> None:
    with thread_pool_dependency_calls() as calls:
        assert (await router.http.get("/v1/reps")).status_code == 200
        assert (await router.http.get("/v1/routing/config")).status_code == 200
        assert (await router.http.get("/v1/reps", headers={"Authorization": "Bearer no"})).status_code == 401
    assert calls == []
