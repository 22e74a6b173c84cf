from shared.alembic_env import run_migrations
from sla_monitor.tables import metadata

run_migrations(metadata)
