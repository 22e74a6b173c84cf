"""A local fake of a lead provider's API (Graph API, LinkedIn REST) and an intake wired to it, for the fetch tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from intake import tables
from intake.main import create_app
from shared.db import create_engine
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, Intake, intake_settings, migrated
from tests.support import eventually, serve


@dataclass
class FakeProviderApi:
    """Answers ``GET {prefix}/{lead id}`` with the documented lead JSON; records every request; can be told to
    fail (``fail_next`` answers of ``fail_status``/``fail_body``) or to stall (all leads, or some)."""

    prefix: str
    leads: dict[str, dict[str, Any]]
    not_found: dict[str, Any]
    requests: list[Request] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    fail_body: Any = None
    delay: float = 0.0
    #: Seconds to stall the answer for particular lead ids.
    stall: dict[str, float] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def lead(request: Request) -> Any:
            self.requests.append(request)
            delay = self.stall.get(request.path_params["lead_id"], self.delay)
            if delay:
                await asyncio.sleep(delay)
            if self.fail_next:
                self.fail_next -= 1
                if self.fail_body is None:
                    return PlainTextResponse("upstream trouble", status_code=self.fail_status)
                return JSONResponse(self.fail_body, status_code=self.fail_status)
            found = self.leads.get(request.path_params["lead_id"])
            return JSONResponse(found) if found is not None else JSONResponse(self.not_found, status_code=404)

        return Starlette(routes=[Route(f"{self.prefix}/{{lead_id}}", lead)])

    def fetched(self, lead_id: str) -> list[Request]:
        return [r for r in self.requests if r.path_params.get("lead_id") == lead_id]


@asynccontextmanager
async def provider_api(fake: FakeProviderApi) -> AsyncIterator[str]:
    async with serve(fake.app()) as url:
        yield url


@asynccontextmanager
async def intake_on(url: str, kafka: str, **overrides: object) -> AsyncIterator[Intake]:
    """An intake on database ``url`` with short fetch retries (the tests never wait for a real backoff)."""
    settings = intake_settings(url, kafka, lead_fetch_retry_base_seconds=0.05, lead_fetch_retry_cap_seconds=0.2,
                               **overrides)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        yield Intake(http=http, settings=settings, kafka=kafka)


async def new_database(databases: DatabaseFactory) -> str:
    return await migrated(databases)


async def fetch_rows(intake: Intake) -> list[Any]:
    engine = create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(tables.lead_fetches).order_by(
                tables.lead_fetches.c.received_at))).all())
    finally:
        await engine.dispose()


async def settled_fetch(intake: Intake, provider_lead_id: str, *, state: str, timeout: float = 15.0) -> Any:
    """The fetch row of ``provider_lead_id`` once it reached ``state``."""
    async def probe() -> Any:
        rows = [r for r in await fetch_rows(intake) if r.provider_lead_id == provider_lead_id and r.state == state]
        return rows[0] if rows else None

    return await eventually(probe, timeout=timeout, what=f"lead fetch {provider_lead_id} to be {state}")
