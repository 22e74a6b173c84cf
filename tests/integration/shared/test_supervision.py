"""Consumer and worker loops run supervised: a crash is restarted with backoff, a loop that keeps dying is
reported dead by ``/healthz`` (liveness), and a loop held by a failure makes ``/readyz`` say so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from shared.db import create_engine
from shared.workers import Supervisor
from tests.support import eventually, serve


class Crashing:
    """A loop that raises every time it is (re)started, until ``healthy`` is set."""

    def __init__(self, *, crashes: int, error: type[Exception] = RuntimeError) -> None:
        self.crashes = crashes
        self.error = error
        self.runs = 0
        self.status = "ok"
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.crashes:
            raise self.error("the loop crashed")
        await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()


class BrokerUp:
    async def ping(self) -> None:
        return None


@asynccontextmanager
async def _service(tmp_path: Path, supervisor: Supervisor) -> AsyncIterator[httpx.AsyncClient]:
    from shared.http import service_app

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        supervisor.start()
        yield
        await supervisor.stop()

    app = service_app(title="t", description="t", lifespan=lifespan, engine=engine, publisher=BrokerUp(),
                      supervisor=supervisor)
    try:
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            yield http
    finally:
        await engine.dispose()


async def test_a_crashed_loop_is_restarted_and_liveness_stays_green(tmp_path: Path) -> None:
    loop = Crashing(crashes=2)
    supervisor = Supervisor({"consumer": loop}, backoff=(0.01, 0.02))
    async with _service(tmp_path, supervisor) as http:
        await eventually(lambda: _ready(http), what="the restarted loop")
        assert loop.runs == 3
        assert (await http.get("/healthz")).status_code == 200


async def _ready(http: httpx.AsyncClient) -> Any:
    answer = await http.get("/readyz")
    return answer.status_code == 200 and answer.json()["checks"]["consumer"] == "ok"


async def test_healthz_answers_503_naming_a_loop_that_died_and_is_not_restarting(tmp_path: Path) -> None:
    healthy, dying = Crashing(crashes=0), Crashing(crashes=1000)
    supervisor = Supervisor({"outbox_relay": healthy, "consumer": dying}, max_crashes=3, backoff=(0.01, 0.02))
    async with _service(tmp_path, supervisor) as http:
        async def dead() -> httpx.Response | None:
            answer = await http.get("/healthz")
            return answer if answer.status_code == 503 else None

        answer = await eventually(dead, what="liveness to fail")
        assert answer.json()["dead"] == {"consumer": "dead (RuntimeError)"}
        assert "consumer" in answer.json()["detail"]
        assert dying.runs == 3
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["outbox_relay"] == "ok"


async def test_readyz_reports_a_consumer_held_by_an_infrastructure_failure(tmp_path: Path) -> None:
    loop = Crashing(crashes=0)
    supervisor = Supervisor({"consumer": loop})
    async with _service(tmp_path, supervisor) as http:
        await eventually(lambda: _ready(http), what="readiness")
        loop.status = "retrying (OperationalError)"
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["consumer"] == "retrying (OperationalError)"
        assert (await http.get("/healthz")).status_code == 200  # held is not dead: no restart wanted


async def test_a_loop_that_crashes_because_the_broker_is_away_is_restarted_without_limit(tmp_path: Path) -> None:
    loop = Crashing(crashes=12, error=ConnectionRefusedError)
    supervisor = Supervisor({"consumer": loop}, max_crashes=3, backoff=(0.001, 0.002))
    async with _service(tmp_path, supervisor) as http:
        await eventually(lambda: _ready(http), what="the loop once the broker is back")
        assert loop.runs == 13 and not supervisor.dead()
        assert (await http.get("/healthz")).status_code == 200


async def test_an_optional_loop_that_is_held_leaves_the_service_ready_and_says_degraded(tmp_path: Path) -> None:
    relay, linked = Crashing(crashes=0), Crashing(crashes=0)
    supervisor = Supervisor({"outbox_relay": relay, "linked_consumer": linked}, optional=frozenset({"linked_consumer"}))
    async with _service(tmp_path, supervisor) as http:
        await eventually(lambda: _ready_named(http, "linked_consumer"), what="readiness")
        linked.status = "retrying (KafkaConnectionError)"
        answer = await http.get("/readyz")
        assert answer.status_code == 200
        assert answer.json()["checks"]["linked_consumer"] == "degraded: retrying (KafkaConnectionError)"
        relay.status = "retrying (OperationalError)"  # a loop the service needs still fails readiness
        assert (await http.get("/readyz")).status_code == 503


async def _ready_named(http: httpx.AsyncClient, name: str) -> Any:
    answer = await http.get("/readyz")
    return answer.status_code == 200 and answer.json()["checks"][name] == "ok"
