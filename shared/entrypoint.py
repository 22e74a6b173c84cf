"""The command line every service shares: ``python -m <service> [serve|migrate]``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.db import run_migrations
from shared.logging import configure_logging, get_logger
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def load_or_exit(load_settings: Callable[[], S]) -> S:
    """Build the settings from the environment, or explain what is wrong and exit with status 2."""
    try:
        return load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            message = str(err["msg"]).removeprefix("Value error, ")
            print(f"Configuration error ({field.upper() or 'settings'}): {message}", file=sys.stderr)  # noqa: T201
        sys.exit(2)


def run_service(*, name: str, argv: list[str], load_settings: Callable[[], S],
                create_app: Callable[[S], Any], database_url: Callable[[S], str], port: Callable[[S], int],
                alembic_ini: Path) -> None:
    command = argv[0] if argv else "serve"
    settings = load_or_exit(load_settings)
    configure_logging(name, settings.log_level)
    log = get_logger(name)
    if command == "migrate":
        run_migrations(alembic_ini, database_url(settings))
        log.info("migrations.applied", service=name)
        return
    if command != "serve":
        print(f"Unknown command {command!r}; use 'serve' (the default) or 'migrate'.", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=port(settings), log_config=None,
                timeout_graceful_shutdown=10)
