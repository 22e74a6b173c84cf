"""``leadrouter dlq list|replay``: what each service dead-lettered, and re-injecting it once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from leadrouter_cli.api import SERVICES, Api, ApiError
from leadrouter_cli.console import err, fail, handles_api_errors, out, print_json, text, timestamp

app = typer.Typer(help="Dead-letter queues: list what was parked, replay it.", no_args_is_help=True)


class Service(StrEnum):
    intake = "intake"
    router = "router"
    sla_monitor = "sla-monitor"
    all = "all"


def chosen(service: Service) -> list[str]:
    return list(SERVICES) if service is Service.all else [service.value]


def counts_table(statuses: dict[str, Any]) -> Table:
    table = Table(title="Dead-letter queues", title_justify="left")
    for column in ("Service", "DLQ topic", "Parked", "Not replayed"):
        table.add_column(column, justify="right" if column in {"Parked", "Not replayed"} else "left")
    for service, status in statuses.items():
        topics = status.get("topics", {})
        if not topics:
            table.add_row(service, "(none yet)", "0", "0")
        for topic, entry in sorted(topics.items()):
            waiting = int(entry.get("not_replayed", 0))
            table.add_row(service, text(topic), str(entry.get("count", 0)),
                          f"[bold yellow]{waiting}[/]" if waiting else "0")
    return table


def recent_table(statuses: dict[str, Any]) -> Table | None:
    """The latest parked messages: when, why, and where from (never the message itself)."""
    rows = [(service, entry) for service, status in statuses.items()
            for topic in status.get("topics", {}).values() for entry in topic.get("recent", ())]
    if not rows:
        return None
    table = Table(title="Latest dead letters", title_justify="left")
    for column in ("Service", "Dead-lettered at", "Reason", "Error", "Origin", "Event id"):
        table.add_column(column, overflow="fold" if column == "Event id" else "ellipsis")
    rows.sort(key=lambda row: str(row[1].get("dead_lettered_at", "")), reverse=True)
    for service, entry in rows:
        origin = f"{entry.get('origin_topic', entry.get('topic'))}/{entry.get('origin_partition', '?')}" \
                 f"@{entry.get('origin_offset', '?')}"
        reason = "tombstone" if entry.get("tombstone") else entry.get("error_reason")
        table.add_row(service, timestamp(entry.get("dead_lettered_at")), text(reason), text(entry.get("error_class")),
                      text(origin), text(entry.get("event_id")))
    return table


@app.command("list")
def list_dlq(
    ctx: typer.Context,
    service: Annotated[Service, typer.Option(help="Whose dead letters.")] = Service.all,
    as_json: Annotated[bool, typer.Option("--json", help="Print the services' answers as JSON.")] = False,
) -> None:
    """Per service and DLQ topic: how many messages are parked, how many not replayed yet, the latest ones."""
    statuses: dict[str, Any] = {}
    failures: list[str] = []
    with Api(ctx.obj, timeout=90) as api:
        for name in chosen(service):
            try:
                statuses[name] = api.get(name, "/v1/admin/dlq")
            except ApiError as exc:
                failures.append(str(exc))
    if as_json:
        print_json(statuses)
    elif statuses:
        out.print(counts_table(statuses))
        recent = recent_table(statuses)
        if recent is not None:
            out.print(recent)
    if failures:
        fail("\n".join(failures))


@app.command("replay")
@handles_api_errors
def replay(
    ctx: typer.Context,
    service: Annotated[Service, typer.Option(help="Whose dead letters to re-inject (required).",
                                             show_default=False)],
) -> None:
    """Re-publish a service's dead letters (not replayed before) to their origin topics, once.

    Messages that can never be read (tombstones, undecodable bytes) are skipped; one that fails again is parked
    again.
    """
    with Api(ctx.obj, timeout=120) as api:
        for name in chosen(service):
            result = api.post(name, "/v1/admin/dlq/replay")
            replayed, skipped = int(result.get("replayed", 0)), int(result.get("skipped", 0))
            out.print(f"{name}: replayed {replayed}, skipped {skipped}"
                      + (" (never readable, or another service's)" if skipped else ""))
            if not replayed and not skipped:
                err.print(f"{name}: nothing was waiting to be replayed.")
