"""End to end: ``leadrouter tail`` follows a lead from assignment to breach on the real stack, and
``leadrouter deliveries`` lists a real webhook delivery and resends it (the receiver gets it twice, same id)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.cli_runner import Ran, cli_command, cli_env, run_cli, table_row
from tests.e2e.conftest import CREDENTIALS, Stack
from tests.support import eventually, serve

# The event stream and the delivery log across targets come with the console work (CONSOLE_SPEC.md); until they
# are in the tree this test has nothing to run against (tests/integration/cli covers the CLI side).
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("sla_monitor.event_stream") is None
    or importlib.util.find_spec("sla_monitor.delivery_routes") is None,
    reason="needs GET /v1/events/stream, GET /v1/deliveries and POST /v1/deliveries/{id}/resend")]

ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
#: Rule hand-raisers: inbound-desk, hot (2 s in the e2e policies), so it breaches while we watch.
HOT_LEAD = {"email": "tail.cli@example.com", "first_name": "Tess", "country": "US", "source": "web_form",
            "intent": "demo_request"}


def _env(stack: Stack) -> dict[str, str]:
    return cli_env(LEADROUTER_INTAKE_URL=stack.urls["intake"], LEADROUTER_ROUTER_URL=stack.urls["router"],
                   LEADROUTER_SLA_URL=stack.urls["sla-monitor"], LEADROUTER_ADMIN_TOKEN=CREDENTIALS["ADMIN_TOKEN"])


async def leadrouter(stack: Stack, *args: str) -> Ran:
    return await run_cli(*args, env=_env(stack))


class Receiver:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.app = Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        await request.body()
        self.ids.append(request.headers.get("webhook-id", ""))
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver()
    async with serve(hooks.app) as url:
        yield hooks, f"{url}/hook"


async def test_tail_follows_a_lead_to_its_breach_deliveries_are_listed_and_resent_and_ctrl_c_stops_tail(
        stack: Stack, receiver: tuple[Receiver, str]) -> None:
    hooks, hook_url = receiver
    tail = await asyncio.create_subprocess_exec(
        *cli_command(), "tail", "--type", "lead.assigned", "--type", "sla.breached", "--count", "2",
        env=_env(stack), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert tail.stderr is not None
    following = await asyncio.wait_for(tail.stderr.readline(), timeout=60)
    assert b"Following the events at" in following

    async with httpx.AsyncClient() as http:
        subscription = await http.post(f"{stack.urls['sla-monitor']}/v1/subscriptions", headers=ADMIN,
                                       json={"url": hook_url, "events": ["lead.assigned"]})
        assert subscription.status_code == 201, subscription.text
        posted = await http.post(f"{stack.urls['intake']}/v1/leads", headers=API_KEY, json=HOT_LEAD)
        assert posted.status_code == 202, posted.text
    lead_id = posted.json()["lead_id"]

    stdout, stderr = await asyncio.wait_for(tail.communicate(), timeout=60)
    assert tail.returncode == 0, stderr
    lines = stdout.decode().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(rf"\d\d:\d\d:\d\d  lead\.assigned +{lead_id}  inbound-desk/rep-\w+/hot  rule hand-raisers",
                        lines[0]), lines[0]
    assert re.fullmatch(rf"\d\d:\d\d:\d\d  sla\.breached +{lead_id}  inbound-desk/rep-\w+/hot  overdue by \d+s",
                        lines[1]), lines[1]
    assert "Tess" not in stdout.decode() and "tail.cli@" not in stdout.decode()

    async def received(count: int) -> bool:
        return len(hooks.ids) >= count

    await eventually(lambda: received(1), what="the webhook delivery")
    delivered = await eventually(lambda: _delivered(stack, lead_id), what="the delivery marked delivered")
    listed = await leadrouter(stack, "deliveries", "list", "--state", "delivered")
    assert listed.code == 0, listed
    row = table_row(listed.stdout, str(delivered["id"]))
    assert row[2:6] == [lead_id, "lead.assigned", "cloudevents", "delivered"], listed.stdout
    of_lead = await leadrouter(stack, "deliveries", "list", "--lead", lead_id, "--json")
    assert [d["id"] for d in json.loads(of_lead.stdout)["deliveries"]] == [delivered["id"]]

    resent = await leadrouter(stack, "deliveries", "resend", str(delivered["id"]))
    assert resent.code == 0 and f"Delivery {delivered['id']} is pending" in resent.stdout, resent
    await eventually(lambda: received(2), what="the resent delivery")
    assert hooks.ids[0] == hooks.ids[1]  # the same event id: the receiver can drop the repeat
    unknown = await leadrouter(stack, "deliveries", "resend", "999999")
    assert unknown.code == 1 and "answered 404 to POST /v1/deliveries/999999/resend" in unknown.stderr

    # Ctrl-C while following the real stream: a clean stop, no traceback.
    idle = await asyncio.create_subprocess_exec(*cli_command(), "tail", env=_env(stack),
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert idle.stderr is not None
    assert b"Following the events at" in await asyncio.wait_for(idle.stderr.readline(), timeout=60)
    idle.send_signal(signal.SIGINT)
    _, stopped = await asyncio.wait_for(idle.communicate(), timeout=30)
    assert idle.returncode == 0 and b"Stopped." in stopped and b"Traceback" not in stopped


async def _delivered(stack: Stack, lead_id: str) -> dict[str, object] | None:
    async with httpx.AsyncClient(headers=ADMIN) as http:
        answer = await http.get(f"{stack.urls['sla-monitor']}/v1/leads/{lead_id}/deliveries")
    found = [d for d in answer.json()["deliveries"] if d["state"] == "delivered"]
    return found[0] if found else None
