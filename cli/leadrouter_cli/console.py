"""Where output goes (results on stdout, progress and errors on stderr) and how an expected failure ends."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from leadrouter_cli.api import ApiError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong on stderr (as plain text: service messages may hold brackets) and exit non-zero."""
    err.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def handles_api_errors(command: F) -> F:
    """Expected failures (a service down, refused, or answering 4xx/5xx) end with a message, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, no colours or wrapping whatever the terminal."""
    typer.echo(json.dumps(data, indent=2))


def text(value: Any) -> str:
    """A service-supplied value for a rich table cell: markup escaped, missing shown as a dash."""
    return "—" if value is None or value == "" else escape(str(value))


def timestamp(value: Any) -> str:
    """An ISO 8601 time from a service, to the second and in UTC: ``2026-11-27 10:28:48Z``."""
    if not isinstance(value, str) or not value:
        return text(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return text(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if parsed.tzinfo is not None else "")


def percent(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}%"


def seconds(value: Any) -> str:
    """``42s``, ``12m 5s``, ``3h 2m``: a duration in seconds as people read it."""
    if value is None:
        return "—"
    total = round(float(value))
    sign, total = ("-", -total) if total < 0 else ("", total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"
