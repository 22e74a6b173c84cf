"""One PostgreSQL database for all three services (a common small setup): each service migrates into its own
schema with its own version table, and a lead goes all the way through."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import SERVICES
from tests.conftest import TEST_DATABASE_URL, DatabaseFactory, _admin_execute_async
from tests.e2e.conftest import CREDENTIALS, running_stack
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")]

ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
LEAD = {"email": "one.db@example.com", "company": "Fintastic", "country": "US", "industry": "fintech",
        "employees": 1200, "source": "web_form", "intent": "demo_request"}


@pytest.fixture
def one_database(tmp_path: Path) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped afterwards."""
    factory = DatabaseFactory("postgresql", tmp_path)
    try:
        yield factory.new("shared")
    finally:
        factory.drop_all()


async def _version_tables(url: str) -> set[tuple[str, str]]:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(user=parsed.username, password=parsed.password, host=parsed.host,
                                 port=parsed.port or 5432, database=parsed.database)
    try:
        rows = await conn.fetch("SELECT table_schema, table_name FROM information_schema.tables "
                                "WHERE table_name LIKE 'alembic_version%' OR table_schema = 'public'")
    finally:
        await conn.close()
    return {(r["table_schema"], r["table_name"]) for r in rows}


async def test_three_services_share_one_postgresql_database_and_pass_a_lead_through(
        tmp_path: Path, one_database: str) -> None:
    with running_stack(tmp_path, {s.name: one_database for s in SERVICES.values()}) as stack:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(stack.url("intake", "/v1/leads"), json=LEAD, headers=API_KEY)
            assert answer.status_code == 202, answer.text
            lead_id = answer.json()["lead_id"]

            async def assigned() -> dict[str, object] | None:
                found = await http.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN)
                return found.json() if found.status_code == 200 and found.json().get("current") else None

            async def clock_started() -> list[object] | None:
                found = await http.get(stack.url("sla-monitor", f"/v1/sla/clocks/{lead_id}"), headers=ADMIN)
                return found.json() if found.status_code == 200 and found.json() else None

            await eventually(assigned, timeout=30, what="the lead's assignment")
            await eventually(clock_started, timeout=30, what="the lead's SLA clock")

    assert await _version_tables(one_database) == {
        ("intake", "alembic_version_intake"), ("router", "alembic_version_router"),
        ("sla_monitor", "alembic_version_sla_monitor"),
    }  # and nothing at all in public


def test_the_version_table_lookup_runs_on_the_database_itself(one_database: str) -> None:
    """Guards the helper above: a fresh database has no version tables and nothing in public."""
    assert asyncio.run(_version_tables(one_database)) == set()
    asyncio.run(_admin_execute_async(one_database, "CREATE TABLE public.probe (id int)"))
    assert asyncio.run(_version_tables(one_database)) == {("public", "probe")}
