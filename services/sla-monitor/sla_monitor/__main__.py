"""``python -m sla_monitor`` serves the API; ``python -m sla_monitor migrate`` applies the database migrations;
``dlq-status`` / ``dlq-replay`` show and re-inject what its consumer dead-lettered."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.entrypoint import run_service


def main() -> None:
    from sla_monitor.handlers import CONSUMED_TOPICS, CONSUMER_GROUP
    from sla_monitor.main import create_app
    from sla_monitor.settings import SlaMonitorSettings

    run_service(
        name="sla-monitor",
        argv=sys.argv[1:],
        load_settings=SlaMonitorSettings,
        create_app=create_app,
        database_url=lambda s: s.sla_monitor_database_url,
        database_schema=lambda s: s.sla_monitor_database_schema,
        port=lambda s: s.sla_monitor_port,
        alembic_ini=Path(__file__).resolve().parent.parent / "alembic.ini",
        consumer_group=CONSUMER_GROUP,
        consumed_topics=CONSUMED_TOPICS,
    )


if __name__ == "__main__":
    main()
