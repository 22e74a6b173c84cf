"""Intake's requests run no dependency in a thread pool (see ``tests.support.thread_pool_dependency_calls``)."""

from __future__ import annotations

from tests.integration.intake.conftest import Intake
from tests.support import thread_pool_dependency_calls

LEAD = {"email": "buyer@example.com", "company": "Acme", "country": "US", "source": "web_form"}


async def test_posting_and_reading_leads_runs_no_dependency_in_a_thread_pool(intake: Intake) -> None:
    with thread_pool_dependency_calls() as calls:
        posted = await intake.http.post("/v1/leads", json=LEAD)
        assert posted.status_code == 202, posted.text
        assert (await intake.http.get(f"/v1/leads/{posted.json()['lead_id']}")).status_code == 200
        again = await intake.http.post("/v1/leads", json=LEAD, headers={"Idempotency-Key": "k1"})
        assert again.status_code == 202
        assert (await intake.http.post("/v1/leads", json=LEAD, headers={"X-API-Key": "wrong"})).status_code == 401
        assert (await intake.http.get("/v1/integrations/unmatched")).status_code == 401  # admin only
    assert calls == []
