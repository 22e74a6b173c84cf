"""``python -m sla_monitor`` serves the API; ``python -m sla_monitor migrate`` applies the database migrations."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.entrypoint import run_service


def main() -> None:
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
    )


if __name__ == "__main__":
    main()
