"""``leadrouter tail``: the sla-monitor's live event stream, one readable line per event; reconnects where it
left off (``Last-Event-ID``) until Ctrl-C."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from leadrouter_cli.api import Api, ApiError, describe_failure, unreachable
from leadrouter_cli.console import err, handles_api_errors, out, seconds, text
from leadrouter_cli.sse import ServerEvent, SseDecoder

TYPE_STYLE = {"sla.breached": "bold red", "sla.warning": "yellow", "sla.met": "green", "lead.assigned": "cyan"}
#: Keepalives come every 15 s: a stream silent for longer than this is dead, and is reopened.
READ_TIMEOUT = 45.0


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _clock(value: Any) -> str:
    parsed = _parse_time(value)
    return parsed.strftime("%H:%M:%S") if parsed else "--:--:--"


def describe(event: dict[str, Any]) -> str:
    """One line of rich markup: time, type, lead, who (team/rep/urgency) and the time that matters for the type
    (due in / overdue by, responded in). Never the lead's name or contact details."""
    kind = str(event.get("type", "?"))
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    assert isinstance(data, dict)
    style = TYPE_STYLE.get(kind)
    label = f"{kind:<16}"
    parts = [_clock(event.get("time")), f"[{style}]{text(label)}[/]" if style else text(label),
             text(event.get("lead_id") or data.get("lead_id"))]
    who = "/".join(text(data.get(k)) for k in ("team", "rep_id", "urgency") if data.get(k) is not None)
    if who:
        parts.append(who)
    due, at = _parse_time(data.get("due_at")), _parse_time(event.get("time"))
    if due and at:
        left = (due - at).total_seconds()
        parts.append(f"due in {seconds(left)}" if left >= 0 else f"overdue by {seconds(-left)}")
    if data.get("response_seconds") is not None:
        parts.append(f"responded in {seconds(data['response_seconds'])}")
    if kind == "activity.recorded":
        parts.append(" ".join(text(data.get(k)) for k in ("direction", "type") if data.get(k)))
    if kind == "lead.assigned" and data.get("rule_id"):
        parts.append(f"rule {text(data['rule_id'])}")
    if kind == "lead.linked":
        parts.append(f"{text(data.get('crm'))} {text(data.get('external_id'))}")
    return "  ".join(p for p in parts if p)


def events(api: Api, *, sleep: Callable[[float], None] = time.sleep, reconnects: int | None = None,
           on_following: Callable[[bool], None] = lambda _again: None) -> Iterator[ServerEvent]:
    """The stream's events for ever, reopening it after a drop with the last id seen as ``Last-Event-ID`` (1 s,
    2 s … 10 s apart, or as the server's ``retry`` says); ``reconnects`` limits how often (None: no limit).
    ``on_following(again)`` is called at the first line of each connection: the server sends one (a comment)
    once it follows the events, so what happens from then on is shown."""
    decoder = SseDecoder()
    connections = 0
    url = api.endpoints.url("sla-monitor") + "/v1/events/stream"
    failures = 0
    while True:
        headers = {**api.headers("sla-monitor", "/v1/events/stream"), "Accept": "text/event-stream"}
        if decoder.last_event_id:
            headers["Last-Event-ID"] = decoder.last_event_id
        try:
            with api.client.stream("GET", url, headers=headers,
                                   timeout=httpx.Timeout(10.0, read=READ_TIMEOUT)) as response:
                if response.status_code != 200:
                    response.read()
                    body = response.json() if "json" in response.headers.get("content-type", "") else None
                    raise ApiError(describe_failure("sla-monitor", "GET", "/v1/events/stream",
                                                    response.status_code, body), status_code=response.status_code)
                failures, following = 0, False
                for line in response.iter_lines():
                    if not following:
                        following = True
                        on_following(connections > 0)
                        connections += 1
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
            problem = "the stream ended"
        except httpx.HTTPError as exc:
            if failures == 0 and decoder.last_event_id is None and isinstance(exc, httpx.ConnectError):
                raise unreachable("sla-monitor", api.endpoints.url("sla-monitor"), exc) from None
            problem = str(unreachable("sla-monitor", api.endpoints.url("sla-monitor"), exc))
        failures += 1
        if reconnects is not None and failures > reconnects:
            raise ApiError(f"Gave up after {reconnects} reconnects: {problem}")
        wait = decoder.retry_ms / 1000 if decoder.retry_ms is not None else min(10.0, float(2 ** (failures - 1)))
        err.print(f"[dim]{text(problem)}; reconnecting in {wait:g} s (from event {text(decoder.last_event_id)})[/]")
        sleep(wait)


@handles_api_errors
def tail(
    ctx: typer.Context,
    types: Annotated[list[str] | None, typer.Option(
        "--type", help="Only events of this type (repeatable), e.g. sla.breached.")] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead's events.")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead.")] = False,
) -> None:
    """Follow the live events (assignments, activities, SLA warnings, breaches, met), one line each. Ctrl-C ends."""
    shown = 0
    try:
        with Api(ctx.obj) as api:
            url = api.endpoints.url("sla-monitor")

            def following(again: bool) -> None:
                err.print(f"Following the events at {text(url)} again." if again else
                          f"Following the events at {text(url)} (Ctrl-C to stop).")

            for server_event in events(api, on_following=following):
                try:
                    event = json.loads(server_event.data)
                except ValueError:
                    continue  # not one of ours; the stream carries JSON objects only
                if not isinstance(event, dict):
                    continue
                event.setdefault("type", server_event.event)
                if (types and event["type"] not in types) or (lead and event.get("lead_id") != lead):
                    continue
                if as_json:
                    typer.echo(json.dumps(event))
                else:
                    out.print(describe(event), soft_wrap=True)
                shown += 1
                if count is not None and shown >= count:
                    return
    except KeyboardInterrupt:
        err.print("Stopped.")
