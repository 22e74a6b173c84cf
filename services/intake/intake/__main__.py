"""``python -m intake`` serves the API; ``python -m intake migrate`` applies the database migrations;
``dlq-status`` / ``dlq-replay`` show and re-inject what its ``lead.linked`` consumer dead-lettered."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.entrypoint import run_service


def main() -> None:
    from intake.linking import CONSUMED_TOPICS, CONSUMER_GROUP
    from intake.main import create_app
    from intake.settings import IntakeSettings

    run_service(
        name="intake",
        argv=sys.argv[1:],
        load_settings=IntakeSettings,
        create_app=create_app,
        database_url=lambda s: s.intake_database_url,
        database_schema=lambda s: s.intake_database_schema,
        port=lambda s: s.intake_port,
        alembic_ini=Path(__file__).resolve().parent.parent / "alembic.ini",
        consumer_group=CONSUMER_GROUP,
        consumed_topics=CONSUMED_TOPICS,
    )


if __name__ == "__main__":
    main()
