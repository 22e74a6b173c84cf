"""The console's routing page over real HTTP, against a real router: validation errors with their paths, publish
and roll back, a diff with the typed text escaped, the backtest with its SLA prediction, CSRF
on every post; and a clear message, never a 500, when the router is down."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from devstack.broker import free_port
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import DOCUMENT, Router, assignment_of, send_lead
from tests.integration.lead_router.conftest import router as router  # noqa: F401 (the fixture)
from tests.integration.sla_monitor.conftest import FAST_POLICIES, migrated, monitor_settings
from tests.support import eventually, serve


async def _signed_in(databases: DatabaseFactory, kafka: str, tmp_path: Path,
                     router_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka, policies, router_url=router_url,
                                console_upstream_timeout_seconds=5)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as browser:
        assert (await browser.post("/ops/login", data={"token": "test-admin"})).status_code == 303
        found = re.search(r'name="csrf_token" value="([^"]+)"', (await browser.get("/ops/routing")).text)
        assert found
        yield browser, found.group(1)


@pytest.fixture
async def console(router: Router, databases: DatabaseFactory, tmp_path: Path,  # noqa: F811
                  ) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async for signed_in in _signed_in(databases, router.kafka, tmp_path, str(router.http.base_url)):
        yield signed_in


async def test_the_draft_is_checked_by_the_router_and_each_problem_shown_with_its_path(
        console: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = console
    page = await browser.get("/ops/routing")
    assert page.status_code == 200 and "current version 1" in page.text and "us-demo" in page.text
    broken = copy.deepcopy(DOCUMENT)
    broken["rules"][0]["team"] = "<nowhere>"
    answer = await browser.post("/ops/routing/validate", data={"document": yaml.safe_dump(broken)},
                                headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert answer.status_code == 200
    assert "<code>rules[0].team</code>: unknown team &#39;&lt;nowhere&gt;&#39;" in answer.text
    valid = await browser.post("/ops/routing/validate", data={"document": yaml.safe_dump(DOCUMENT)},
                               headers={"X-CSRF-Token": csrf})
    assert "Valid: the router would accept this document." in valid.text
    refused = await browser.post("/ops/routing/validate", data={"document": yaml.safe_dump(DOCUMENT)})
    assert refused.status_code == 403


async def test_publish_diff_and_roll_back(console: tuple[httpx.AsyncClient, str], router: Router) -> None:  # noqa: F811
    browser, csrf = console
    changed = copy.deepcopy(DOCUMENT)
    changed["teams"][1]["reps"][0]["name"] = "<script>alert(1)</script>"
    published = await browser.post("/ops/routing/publish", data={"document": yaml.safe_dump(changed),
                                                                  "csrf_token": csrf})
    assert published.status_code == 303 and published.headers["location"] == "/ops/routing?published=2"
    diff = (await browser.get("/ops/routing/versions/1/diff", headers={"HX-Request": "true"})).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in diff and "<script>alert" not in diff
    assert 'class="diff-added"' in diff
    refused = await browser.post("/ops/routing/publish", data={"document": "teams: []", "csrf_token": csrf})
    assert refused.status_code == 422 and "teams" in refused.text and "teams: []" in refused.text
    assert (await browser.post("/ops/routing/versions/1/restore")).status_code == 403
    restored = await browser.post("/ops/routing/versions/1/restore", data={"csrf_token": csrf})
    assert restored.status_code == 303 and restored.headers["location"] == "/ops/routing?restored=1"
    assert (await router.http.get("/v1/routing/config")).json() == {"version": 3, "document": DOCUMENT}
    assert "Rolled back: version 3 is version 1" in (await browser.get(restored.headers["location"])).text


async def test_a_backtest_shows_the_spread_and_the_predicted_sla(console: tuple[httpx.AsyncClient, str],
                                                                 router: Router) -> None:  # noqa: F811
    browser, csrf = console
    for n in range(3):
        await send_lead(router.kafka, f"us-{n}", country="US", intent="demo_request")
        await eventually(assignment_of(router, f"us-{n}"))
    draft = copy.deepcopy(DOCUMENT)
    draft["rules"][0]["team"] = "desk"
    answer = await browser.post("/ops/routing/backtest", data={"document": yaml.safe_dump(draft), "days": "2"},
                                headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert answer.status_code == 200
    assert "<strong>3</strong> leads replayed (2 days)" in answer.text
    assert "<strong>3</strong> would go elsewhere" in answer.text and "Predicted within SLA" in answer.text
    broken = await browser.post("/ops/routing/backtest", data={"document": "teams: [", "days": "2"},
                                headers={"X-CSRF-Token": csrf})
    assert broken.status_code == 200 and "The backtest did not run" in broken.text
    assert "<code>document</code>" in broken.text


async def test_a_router_that_is_down_is_said_so_on_the_page(databases: DatabaseFactory, kafka_bootstrap: str,
                                                            tmp_path: Path) -> None:
    async for browser, csrf in _signed_in(databases, kafka_bootstrap, tmp_path, f"http://127.0.0.1:{free_port()}"):
        page = await browser.get("/ops/routing")
        assert page.status_code == 200 and "The router is unreachable" in page.text
        backtest = await browser.post("/ops/routing/backtest", data={"document": "x: 1", "days": "30"},
                                      headers={"X-CSRF-Token": csrf})
        assert backtest.status_code == 200 and "The router is unreachable" in backtest.text
