"""Rotating CRM_WEBHOOK_SECRET: while CRM_WEBHOOK_SECRET_PREVIOUS is set, webhooks signed with either verify."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from intake import tables
from intake.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, Intake, count_rows, intake_settings, migrated
from tests.integration.intake.test_activities_api import CALL, signed
from tests.support import serve


@pytest.fixture
async def rotating(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    settings = intake_settings(await migrated(databases), kafka_bootstrap, crm_webhook_secret="new-secret",
                               crm_webhook_secret_previous="old-secret")
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        yield Intake(http=http, settings=settings, kafka=kafka_bootstrap)


async def test_the_new_and_the_previous_secret_both_verify_and_any_other_is_refused(rotating: Intake) -> None:
    lead_id = (await rotating.http.post("/v1/leads", json={"email": "rot@example.com", "source": "web_form"})
               ).json()["lead_id"]
    new = await rotating.http.post("/v1/activities", **signed({**CALL, "activity_id": "n", "lead_id": lead_id},
                                                               secret="new-secret"))
    old = await rotating.http.post("/v1/activities", **signed({**CALL, "activity_id": "o", "lead_id": lead_id},
                                                               secret="old-secret"))
    forged = await rotating.http.post("/v1/activities", **signed({**CALL, "activity_id": "f", "lead_id": lead_id},
                                                                  secret="test-secret"))
    assert [new.status_code, old.status_code, forged.status_code] == [202, 202, 401]
    assert await count_rows(rotating, tables.activities) == 2


async def test_a_lead_is_readable_with_the_admin_token_and_while_rotating_with_the_previous_one(
        databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    settings = intake_settings(await migrated(databases), kafka_bootstrap, admin_token="admin-new",
                               admin_token_previous="admin-old")
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        lead_id = (await http.post("/v1/leads", json={"email": "adm@example.com", "source": "web_form"},
                                   headers={"X-API-Key": API_KEY})).json()["lead_id"]
        answers = [await http.get(f"/v1/leads/{lead_id}", headers={"Authorization": f"Bearer {token}"})
                   for token in ("admin-new", "admin-old", "admin-older", "x")]
    assert [a.status_code for a in answers] == [200, 200, 401, 401]
