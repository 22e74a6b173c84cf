"""Why a service cannot start, in one line: the checks a service runs before it serves, and their wording.

A failure prints ``<service>: cannot start: <reason>`` on stderr and exits with status 1 (configuration
errors keep status 2). ``make run`` shows the same line for the service that failed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from pathlib import Path
from typing import NoReturn

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

#: The prefix of the one line a service prints when it cannot start; ``make run`` looks for it.
CANNOT_START = "cannot start:"


class StartupFailure(Exception):
    """A service cannot start; the message is the reason, one sentence without a traceback."""


def fail(service: str, reason: str) -> NoReturn:
    print(f"{service}: {CANNOT_START} {reason}", file=sys.stderr, flush=True)  # noqa: T201
    sys.exit(1)


def describe(exc: BaseException, *, url: str | None = None) -> str:
    """The reason behind ``exc`` in one line: the driver's own message, never SQL, parameters or a traceback."""
    where = _where(url)
    cause: BaseException = exc
    seen: set[int] = set()
    while id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, StartupFailure):
            return str(cause)
        if isinstance(cause, DBAPIError) and cause.orig is not None:
            cause = cause.orig
        elif isinstance(cause, (ConnectionError, socket.gaierror, TimeoutError)) or (
                isinstance(cause, OSError) and cause.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH)):
            detail = cause.strerror or str(cause) or type(cause).__name__
            return f"the database{where} is unreachable ({detail})."
        elif cause.__cause__ is not None:
            cause = cause.__cause__
        else:
            break
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    text = text.split("\n[SQL:")[0]
    return f"{type(cause).__name__}: {text[:300]}"


def _where(url: str | None) -> str:
    if not url:
        return ""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL has no location to name
        return ""
    if parsed.get_backend_name() == "sqlite":
        return f" file {parsed.database}"
    return f" at {parsed.host or 'localhost'}:{parsed.port or 5432}"


def check_port_free(host: str, port: int) -> None:
    """Raise ``StartupFailure`` if ``host:port`` cannot be listened on (taken, or not an address of this host)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupFailure(f"port {port} on {host} is already in use.") from exc
            raise StartupFailure(f"cannot listen on {host}:{port} ({exc.strerror}).") from exc


def check_database(url: str, *, schema: str, alembic_ini: Path, command: str, timeout: float = 15.0) -> None:
    """Raise ``StartupFailure`` unless the database answers and holds this service's latest migration."""
    try:
        current, head, known = asyncio.run(asyncio.wait_for(_revisions(url, schema, alembic_ini), timeout))
    except TimeoutError as exc:
        raise StartupFailure(f"the database{_where(url)} did not answer within {timeout:.0f}s.") from exc
    except Exception as exc:  # noqa: BLE001 - any failure here is reported as the reason, in one line
        raise StartupFailure(describe(exc, url=url)) from exc
    # A revision this code does not know is a newer one (a rollback or a rolling deploy): serve on it.
    if current != head and (current is None or current in known):
        state = f"is at revision {current}" if current else "has none of its tables"
        raise StartupFailure(
            f"the database (schema '{schema}' on PostgreSQL) {state}, expected {head}; run `{command}` first.")


async def _revisions(url: str, schema: str, alembic_ini: Path) -> tuple[str | None, str | None, set[str]]:
    """The database's revision, this code's head revision, and every revision this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up chatter is not news at start

    from shared.db import create_engine, migration_config

    config = migration_config(alembic_ini, url, schema=schema)
    script = ScriptDirectory.from_config(config)
    head, known = script.get_current_head(), {r.revision for r in script.walk_revisions()}
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            def current(sync_conn: object) -> str | None:
                opts = {"version_table": config.attributes["version_table"],
                        "version_table_schema": schema if engine.dialect.name == "postgresql" else None}
                return MigrationContext.configure(sync_conn, opts=opts).get_current_revision()  # type: ignore[arg-type]

            return await conn.run_sync(current), head, known
    finally:
        await engine.dispose()
