"""Schemathesis drives the intake API from its own OpenAPI document: no input may cause a 5xx, and every
answer must match what the document promises."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from devstack.broker import free_port
from intake.main import create_app
from shared.db import run_migrations
from tests.integration.intake.conftest import ALEMBIC_INI, API_KEY, intake_settings


@pytest.fixture
def intake_schema(tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    run_migrations(ALEMBIC_INI, url)
    # No broker: accepted leads wait in the outbox, which is all this test needs.
    # Schemathesis sends each operation without credentials too (its ignored_auth check); with the default
    # refusal limit the address would be blocked after 20 of those and every later case answered 429.
    app = create_app(intake_settings(url, f"127.0.0.1:{free_port()}", auth_failure_limit=1_000_000))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json")
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_the_intake_api_keeps_its_documented_promises(intake_schema: schemathesis.BaseSchema) -> None:
    # The ops endpoints answer 503 on purpose when the broker is away (there is none here).
    operations = [op for op in (r.ok() for r in intake_schema.get_all_operations()) if op.path.startswith("/v1/")]
    assert {op.path for op in operations} >= {"/v1/leads", "/v1/leads/batch", "/v1/activities"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            # The schema cannot say which strings are countries, so "schema-valid" data may rightly get a 422.
            case.call_and_validate(headers={"X-API-Key": API_KEY}, excluded_checks=[positive_data_acceptance])

        call()
