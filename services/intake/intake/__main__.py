"""``python -m intake`` serves the API; ``python -m intake migrate`` applies the database migrations."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.entrypoint import run_service


def main() -> None:
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
    )


if __name__ == "__main__":
    main()
