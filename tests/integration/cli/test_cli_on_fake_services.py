"""The CLI's backtest, deliveries and tail over real HTTP, against stand-ins answering per the spec's shapes."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack.broker import free_port
from tests.cli_runner import Ran, cli_command, cli_env, run_cli, table_row
from tests.integration.cli.fake_services import BACKTEST, TOKEN, FakeServices
from tests.support import serve

DRAFT = """teams:
  - id: emea
    strategy: weighted
    reps: [{id: rep-dora, name: Dora, email: dora@example.com, timezone: Europe/Berlin}]
rules: []
fallback: {team: emea, urgency: warm}
"""


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeServices, str]]:
    services = FakeServices()
    async with serve(services.app) as url:
        yield services, url


def _env(url: str, token: str = TOKEN) -> dict[str, str]:
    return cli_env(LEADROUTER_ROUTER_URL=url, LEADROUTER_SLA_URL=url, LEADROUTER_INTAKE_URL=url,
                   LEADROUTER_ADMIN_TOKEN=token)


async def leadrouter(url: str, *args: str, token: str = TOKEN) -> Ran:
    return await run_cli(*args, env=_env(url, token), timeout=60)


async def test_a_backtest_shows_teams_reps_the_prediction_and_asks_for_both_scenarios(
        fake: tuple[FakeServices, str], tmp_path: Path) -> None:
    services, url = fake
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT)
    ran = await leadrouter(url, "backtest", str(draft), "--days", "14")
    assert ran.code == 0, ran
    assert table_row(ran.stdout, "emea") == ["emea", "400", "520", "+120"]
    assert table_row(ran.stdout, "na-enterprise") == ["na-enterprise", "800", "680", "-120"]
    assert table_row(ran.stdout, "rep-ana") == ["rep-ana", "na-enterprise", "800", "680", "-120", "78.5%", "82.0%",
                                                 "400"]
    text = " ".join(ran.stdout.split())
    assert "Backtest over 14 days" in text and "1200 leads, 180 would go to another team or rep (15.0%)" in text
    assert "Predicted within SLA: draft 88.4% vs actual 84.1% (observed: 83.9%)." in text
    assert "Run time: backtest 640 ms (router), prediction" in text
    sent = {path: body for _, path, _, body in services.requests}
    assert sent["/v1/routing/backtest"] == {"document": DRAFT, "days": 14}
    assert sent["/v1/reports/predict-sla"] == {"days": 14, "scenarios": BACKTEST["by_rep_urgency"]}

    as_json = await leadrouter(url, "backtest", str(draft), "--json")
    assert as_json.code == 0
    parsed = json.loads(as_json.stdout)
    assert parsed["backtest"]["changed"] == 180 and parsed["prediction"]["observed_within_sla_pct"] == 83.9

    draft.write_text(DRAFT.replace("team: emea, urgency", "team: unknown-team, urgency"))
    invalid = await leadrouter(url, "backtest", str(draft))
    assert invalid.code == 1 and "Traceback" not in invalid.stderr
    assert "router answered 422 to POST /v1/routing/backtest: The routing document has 1 problem(s)" in invalid.stderr
    assert "rules[0].team: names no team of the document" in invalid.stderr


async def test_deliveries_are_listed_filtered_and_resent_and_refusals_are_sentences(
        fake: tuple[FakeServices, str]) -> None:
    services, url = fake
    listed = await leadrouter(url, "deliveries", "list")
    assert listed.code == 0, listed
    assert table_row(listed.stdout, "12")[3:9] == ["sla.breached", "webhook", "failed", "8", "500",
                                             "HTTP 500 from the receiver"]
    assert table_row(listed.stdout, "11")[5] == "delivered"
    failed = await leadrouter(url, "deliveries", "list", "--state", "failed", "--limit", "5")
    assert "│ 11 " not in failed.stdout and table_row(failed.stdout, "12")
    assert ("GET", "/v1/deliveries", {"state": "failed", "limit": "5"}, None) in services.requests

    resent = await leadrouter(url, "deliveries", "resend", "12")
    assert resent.code == 0 and "Delivery 12 is pending: the delivery worker sends it now." in resent.stdout
    assert services.resent == [12]
    for delivery_id, why in (("11", "answered 409 to POST /v1/deliveries/11/resend: Delivery 11 is already pending."),
                             ("99", "answered 404 to POST /v1/deliveries/99/resend: There is no delivery 99.")):
        refused = await leadrouter(url, "deliveries", "resend", delivery_id)
        assert refused.code == 1 and why in refused.stderr and "Traceback" not in refused.stderr
    wrong = await leadrouter(url, "deliveries", "list", token="wrong")
    assert wrong.code == 1 and "did not accept the admin token (--token / LEADROUTER_ADMIN_TOKEN)" in wrong.stderr


async def test_tail_prints_a_line_per_event_and_picks_up_after_a_drop_with_the_last_event_id(
        fake: tuple[FakeServices, str]) -> None:
    services, url = fake
    ran = await leadrouter(url, "tail", "--count", "3")
    assert ran.code == 0, ran
    lines = ran.stdout.splitlines()
    assert lines == [
        "10:00:00  lead.assigned     lead-7  emea/rep-dora/hot  rule emea-demo",
        "10:25:00  sla.warning       lead-7  emea/rep-dora/hot  due in 5m 0s",
        "10:30:01  sla.breached      lead-7  emea/rep-dora/hot  overdue by 1s",
    ]
    assert "Jane" not in ran.stdout
    assert "reconnecting" in ran.stderr and "from event 2" in ran.stderr
    assert "Following the events at" in ran.stderr and "again." in ran.stderr
    assert [c.get("last-event-id") for c in services.stream_connections] == [None, "2"]
    only = await leadrouter(url, "tail", "--count", "1", "--type", "sla.breached", "--json")
    assert json.loads(only.stdout)["id"] == "3"


async def test_ctrl_c_ends_tail_cleanly(fake: tuple[FakeServices, str]) -> None:
    _, url = fake
    process = await asyncio.create_subprocess_exec(*cli_command(), "tail", "--type", "sla.breached", env=_env(url),
                                                   stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert b"sla.breached" in first
    process.send_signal(signal.SIGINT)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0 and b"Stopped." in stderr and b"Traceback" not in stderr


async def test_a_service_that_is_down_is_a_sentence_not_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("tail",), ("deliveries", "list"), ("dlq", "list")):
        ran = await leadrouter(url, *args)
        assert ran.code == 1 and "Traceback" not in ran.stderr, ran
        assert f"at {url}: the connection was refused" in ran.stderr


async def test_an_import_interrupted_with_ctrl_c_resumes_with_the_chunk_that_had_no_answer(
        fake: tuple[FakeServices, str], tmp_path: Path) -> None:
    services, url = fake
    services.hang_on_batch = 2
    scans = tmp_path / "scans.csv"
    scans.write_text("email,source\na@x.io,badge_scan\nb@x.io,badge_scan\nc@x.io,badge_scan\n")
    env = {**_env(url), "LEADROUTER_API_KEY": "k"}
    process = await asyncio.create_subprocess_exec(*cli_command(), "import", str(scans), "--chunk", "1", env=env,
                                                   stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    await asyncio.wait_for(services.batch_hanging.wait(), timeout=30)
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 130, stderr
    assert b"Interrupted." in stderr and b"1 of 3 chunks are imported" in stderr and b"Traceback" not in stderr

    services.hang_on_batch = None
    resumed = await run_cli("import", str(scans), "--chunk", "1", env=env)
    assert resumed.code == 0, resumed
    assert "3 rows: 3 accepted, 0 rejected. Chunks: 2 sent now, 1 already imported before (skipped)." in \
        " ".join(resumed.stdout.split())
    keys = [key for key, _ in services.batches]
    # Chunk 2 had no answer, so it is sent again, with the same Idempotency-Key; chunk 1 is not.
    assert len(keys) == 4 and keys[1] == keys[2] and len(set(keys)) == 3
