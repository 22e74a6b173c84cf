"""End to end: the installed ``leadrouter`` command against the running stack (broker + three services as
processes): a CSV import with rejected rows that is cut off and resumed without duplicates, a lead simulated,
and a message parked in a DLQ that is listed and replayed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadrouter_cli import resume
from shared import topics
from shared.events import CloudEvent, LeadReceived
from tests.cli_runner import Ran, cli_env, run_cli
from tests.e2e.conftest import CREDENTIALS, Stack
from tests.support import eventually, read_raw, serve

pytestmark = pytest.mark.e2e

API_KEY = CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]
#: Seven rows, two of them bad (row 2: no valid email; row 5: no source); chunks of two rows make four chunks.
SCANS = """email,first_name,company,country,source,intent
ana.cli@example.com,Ana,Fintastic,US,badge_scan,booth_visit
not-an-email,Bad,Nowhere,US,badge_scan,booth_visit
ben.cli@example.com,Ben,Acme,DE,badge_scan,booth_visit
cy.cli@example.com,Cy,Globex,FR,badge_scan,booth_visit
dora.cli@example.com,Dora,Initech,US,,booth_visit
emil.cli@example.com,Emil,Umbrella,GB,badge_scan,booth_visit
fay.cli@example.com,Fay,Hooli,US,badge_scan,booth_visit
"""


async def leadrouter(stack: Stack, *args: str, intake_url: str | None = None) -> Ran:
    return await run_cli(*args, env=cli_env(
        LEADROUTER_INTAKE_URL=intake_url or stack.urls["intake"], LEADROUTER_ROUTER_URL=stack.urls["router"],
        LEADROUTER_SLA_URL=stack.urls["sla-monitor"], LEADROUTER_ADMIN_TOKEN=CREDENTIALS["ADMIN_TOKEN"],
        LEADROUTER_API_KEY=API_KEY))


@asynccontextmanager
async def intake_going_down_after(requests: int, intake_url: str) -> AsyncIterator[str]:
    """A real HTTP hop in front of intake that passes ``requests`` requests on, then answers 503 (a deploy or an
    outage in the middle of an import)."""
    passed = {"n": 0}

    async def forward(request: Request) -> Response:
        if passed["n"] >= requests:
            return Response('{"detail": "Intake is restarting."}', status_code=503, media_type="application/json")
        passed["n"] += 1
        async with httpx.AsyncClient() as client:
            answer = await client.request(request.method, intake_url + request.url.path, content=await request.body(),
                                          headers={k: v for k, v in request.headers.items() if k != "host"})
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    async with serve(Starlette(routes=[Route("/{path:path}", forward, methods=["POST"])])) as url:
        yield url


async def test_an_import_shows_progress_and_rejected_rows_and_resumes_after_an_outage_without_duplicates(
        stack: Stack, tmp_path: Path) -> None:
    scans = tmp_path / "scans.csv"
    scans.write_text(SCANS)
    state_file = tmp_path / "scans.csv.import-state.jsonl"

    async with intake_going_down_after(2, stack.urls["intake"]) as flaky:
        cut = await leadrouter(stack, "import", str(scans), "--chunk", "2", intake_url=flaky)
    assert cut.code == 1, cut
    assert "chunk 1/4: rows 1–2: 1 accepted, 1 rejected" in cut.stderr
    assert "chunk 2/4: rows 3–4: 2 accepted, 0 rejected" in cut.stderr
    assert "Chunk 3 (rows 5–6) was not imported. intake answered 503" in cut.stderr
    assert "2 of 4 chunks are imported" in cut.stderr and "Traceback" not in cut.stderr
    cut_state = resume.load(state_file)
    assert cut_state is not None and sorted(cut_state.chunks) == [0, 1]

    resumed = await leadrouter(stack, "import", str(scans), "--chunk", "2")
    assert resumed.code == 3, resumed  # finished, with rejected rows
    assert "Resuming: 2 of 4 chunks were imported before" in resumed.stderr
    assert "Importing scans.csv" in resumed.stderr and "7/7 rows" in resumed.stderr
    assert "chunk 1/4" not in resumed.stderr and "chunk 3/4: rows 5–6: 1 accepted, 1 rejected" in resumed.stderr
    assert "chunk 4/4: row 7: 1 accepted, 0 rejected" in resumed.stderr
    table = [line for line in resumed.stdout.splitlines() if "│" in line]
    assert any(" 2 │    3 │ email " in line and "email address" in line for line in table), resumed.stdout
    assert any(" 5 │    6 │ source " in line and "Field required" in line for line in table), resumed.stdout
    assert "7 rows: 5 accepted, 2 rejected. Chunks: 2 sent now, 2 already imported before (skipped)." in \
        resumed.stdout.replace("\n", " ")
    assert "not-an-email" not in resumed.stdout + resumed.stderr  # reasons, never the values

    done = resume.load(state_file)
    assert done is not None
    accepted = done.accepted()
    assert [row["row"] for row in accepted] == [1, 3, 4, 6, 7]
    assert len({row["lead_id"] for row in accepted}) == 5
    assert all(row["duplicate_of"] is None for row in accepted)  # no row reached intake twice
    async with httpx.AsyncClient(base_url=stack.urls["intake"], headers={"X-API-Key": API_KEY}) as intake:
        emails = []
        for row in accepted:
            answer = await intake.get(f"/v1/leads/{row['lead_id']}")
            assert answer.status_code == 200
            emails.append(answer.json()["email"])
    assert emails == ["ana.cli@example.com", "ben.cli@example.com", "cy.cli@example.com", "emil.cli@example.com",
                      "fay.cli@example.com"]

    again = await leadrouter(stack, "import", str(scans), "--chunk", "2")
    assert again.code == 3 and "Chunks: 0 sent now, 4 already imported before" in again.stdout.replace("\n", " ")


def _invalid_lead_event() -> bytes:
    """A well-formed event whose data the router cannot accept: dead-lettered as ``invalid_event``."""
    event = CloudEvent.wrap(LeadReceived(lead_id="lead-poison", received_at=datetime.now(UTC), source="web_form"),
                            source="test/cli")
    return event.model_copy(update={"data": {"lead_id": "lead-poison", "source": ["a", "list"]}}).to_bytes()


async def test_simulate_explains_a_decision_and_a_parked_message_is_listed_and_replayed(stack: Stack) -> None:
    decided = await leadrouter(stack, "simulate", "--country", "US", "--industry", "fintech", "--employees", "1200",
                               "--intent", "demo_request")
    assert decided.code == 0, decided
    lines = decided.stdout.splitlines()
    assert lines[0].startswith("Team na-enterprise, rep rep-") and lines[0].endswith("(assigned), urgency hot")
    assert lines[1].startswith("Rule us-fintech-demo, routing document version ")
    assert lines[2] == "Why:" and len(lines) > 3
    refused = await leadrouter(stack, "simulate", "--employees", "12", "--json", "-")
    assert refused.code == 1 and "not valid JSON" in refused.stderr

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.LEADS_RECEIVED, _invalid_lead_event(), key=b"lead-poison")
    finally:
        await producer.stop()
    dlq = topics.dead_letter_topic(topics.LEADS_RECEIVED)
    await read_raw(stack.bootstrap, dlq, count=1)

    listed = await leadrouter(stack, "dlq", "list", "--service", "router")
    assert listed.code == 0, listed
    assert any(dlq in line and line.split("│")[3].strip() == "1" and line.split("│")[4].strip() == "1"
               for line in listed.stdout.splitlines()), listed.stdout
    assert "invalid_event" in listed.stdout

    replayed = await leadrouter(stack, "dlq", "replay", "--service", "router")
    assert replayed.code == 0 and "router: replayed 1, skipped 0" in replayed.stdout, replayed
    await read_raw(stack.bootstrap, dlq, count=2)  # still invalid: parked again, as a new entry

    async def counts() -> dict[str, int] | None:
        ran = await leadrouter(stack, "dlq", "list", "--service", "all", "--json")
        assert ran.code == 0, ran
        entry = json.loads(ran.stdout)["router"]["topics"][dlq]
        return entry if entry["count"] == 2 else None

    after = await eventually(counts, what="the replayed message parked again")
    assert after["not_replayed"] == 1

    denied = await leadrouter(stack, "--token", "wrong", "dlq", "replay", "--service", "router")
    assert denied.code == 1 and "did not accept the admin token" in denied.stderr and "Traceback" not in denied.stderr
