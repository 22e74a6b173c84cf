"""``python -m lead_router`` serves the API; ``python -m lead_router migrate`` applies the database migrations;
``dlq-status`` / ``dlq-replay`` show and re-inject what its consumer dead-lettered."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.entrypoint import run_service


def main() -> None:
    from lead_router.handlers import CONSUMED_TOPICS, CONSUMER_GROUP
    from lead_router.main import create_app
    from lead_router.settings import RouterSettings

    run_service(
        name="router",
        argv=sys.argv[1:],
        load_settings=RouterSettings,
        create_app=create_app,
        database_url=lambda s: s.router_database_url,
        database_schema=lambda s: s.router_database_schema,
        port=lambda s: s.router_port,
        alembic_ini=Path(__file__).resolve().parent.parent / "alembic.ini",
        consumer_group=CONSUMER_GROUP,
        consumed_topics=CONSUMED_TOPICS,
    )


if __name__ == "__main__":
    main()
