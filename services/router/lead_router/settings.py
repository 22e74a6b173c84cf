"""Router configuration, read once from the environment at start."""

from __future__ import annotations

from shared.settings import ServiceSettings, sqlite_url


class RouterSettings(ServiceSettings):
    router_database_url: str = sqlite_url("router")
    router_port: int = 8001
    #: The routing document that seeds an empty database (afterwards PUT /v1/routing/config changes it).
    routing_config_path: str = "config/routing.yaml"
    #: How often queued leads are re-checked (working hours start, a rep comes back, a queue times out).
    queue_recheck_seconds: float = 30.0
