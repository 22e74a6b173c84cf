"""``leadrouter deliveries list|resend``: webhook, Slack, email and CRM deliveries, and sending one again."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from leadrouter_cli.api import Api
from leadrouter_cli.console import handles_api_errors, out, print_json, text, timestamp

app = typer.Typer(help="Deliveries of events to subscribers and CRMs: list them, resend one.", no_args_is_help=True)


class State(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    superseded = "superseded"


STATE_STYLE = {"failed": "bold red", "pending": "yellow", "delivered": "green", "superseded": "dim"}


def deliveries_table(deliveries: list[dict[str, Any]]) -> Table:
    """Ids, times, event and state kept whole (one copies ids for resend and --lead); the last error wraps."""
    table = Table(title=f"Deliveries ({len(deliveries)})", title_justify="left")
    retrying = any(d.get("next_attempt_at") for d in deliveries)
    columns = ["Id", "Created", "Lead", "Event", "Channel", "State", "Tries", "Status", "Last error"]
    for column in columns + (["Next try"] if retrying else []):
        table.add_column(column, justify="right" if column in {"Id", "Tries", "Status"} else "left",
                         no_wrap=column != "Last error", overflow="fold" if column in {"Id", "Lead"} else "ellipsis",
                         ratio=1 if column == "Last error" else None)
    for d in deliveries:
        state = str(d.get("state", ""))
        style = STATE_STYLE.get(state)
        row = [text(d.get("id")), timestamp(d.get("created_at")), text(d.get("lead_id")), text(d.get("event_type")),
               text(d.get("channel")), f"[{style}]{text(state)}[/]" if style else text(state), text(d.get("attempts")),
               text(d.get("last_status")), text(d.get("last_error"))]
        table.add_row(*row, *([timestamp(d.get("next_attempt_at"))] if retrying else []))
    return table


@app.command("list")
@handles_api_errors
def list_deliveries(
    ctx: typer.Context,
    state: Annotated[State | None, typer.Option(help="Only deliveries in this state.")] = None,
    channel: Annotated[str | None, typer.Option(help="cloudevents, slack, email, hubspot, salesforce.")] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead's deliveries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """The latest deliveries, newest first (a lead's: oldest first), with attempts and the last error."""
    with Api(ctx.obj) as api:
        if lead:
            answer = api.get("sla-monitor", f"/v1/leads/{quote(lead, safe='')}/deliveries", params={"limit": limit})
            found = [d for d in answer.get("deliveries", ())
                     if (state is None or d.get("state") == state.value)
                     and (channel is None or d.get("channel") == channel)]
        else:
            params = {"limit": limit, **({"state": state.value} if state else {}),
                      **({"channel": channel} if channel else {})}
            found = list(api.get("sla-monitor", "/v1/deliveries", params=params).get("deliveries", ()))
    if as_json:
        print_json({"deliveries": found})
    else:
        out.print(deliveries_table(found))


@app.command("resend")
@handles_api_errors
def resend(ctx: typer.Context, delivery_id: Annotated[int, typer.Argument(metavar="ID", min=1)]) -> None:
    """Send a delivery again now (same event id, so receivers drop a copy they already have)."""
    with Api(ctx.obj) as api:
        answer = api.post("sla-monitor", f"/v1/deliveries/{delivery_id}/resend")
    out.print(f"Delivery {text(answer.get('id', delivery_id))} is {text(answer.get('state', 'pending'))}: "
              "the delivery worker sends it now.")
