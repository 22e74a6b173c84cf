"""Router configuration, read once from the environment at start."""

from __future__ import annotations

from pydantic import Field

from shared.settings import SCHEMA_PATTERN, ServiceSettings, sqlite_url


class RouterSettings(ServiceSettings):
    router_database_url: str = sqlite_url("router")
    #: PostgreSQL schema of this service's tables (its own, so one database can host all three services).
    router_database_schema: str = Field(default="router", pattern=SCHEMA_PATTERN)
    router_port: int = 8001
    #: The routing document that seeds an empty database (afterwards PUT /v1/routing/config changes it).
    routing_config_path: str = "config/routing.yaml"
    #: How often queued leads are re-checked (working hours start, a rep comes back, a queue times out).
    queue_recheck_seconds: float = 30.0
