"""Settings building blocks. Each service defines one settings class from these; nothing else reads the environment."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingCredentials(ValueError):
    """Raised at start when a credential a service needs is not configured."""


class KafkaSettings(BaseSettings):
    """How to reach Kafka. ``KAFKA_BOOTSTRAP_SERVERS`` points at any Kafka-compatible cluster."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    #: A consumer that stops heart-beating for this long loses its partitions to the rest of the group.
    kafka_session_timeout_ms: int = 10_000
    #: How often a handler failing with a non-infrastructure error (a bug, maybe a race) is tried before its
    #: message goes to the DLQ. Infrastructure errors (database or broker away) are retried without limit.
    kafka_handler_max_attempts: int = 8
    #: Up to this many consecutive messages of a partition are handled in one database transaction (one
    #: commit instead of one per message); if any of them fails, they are redone one by one.
    kafka_handler_batch_size: int = Field(default=50, ge=1)
    kafka_client_id: str = "leadrouter"


class ServiceSettings(KafkaSettings):
    """What every service shares: Kafka, the admin bearer token, logging and the HTTP listener."""

    admin_token: SecretStr | None = None
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    #: Seconds between outbox polls when nothing wakes the relay earlier.
    outbox_poll_interval: float = 0.5

    @model_validator(mode="after")
    def _admin_token_is_required(self) -> Any:
        if self.admin_token is None or not self.admin_token.get_secret_value():
            raise MissingCredentials(
                "ADMIN_TOKEN is not set. Set it to a long random string; "
                "`make run` uses the dev value 'dev-admin'."
            )
        return self


def sqlite_url(service: str) -> str:
    """The embedded default database of a service: a SQLite file under ``./var/``."""
    return f"sqlite+aiosqlite:///var/{service}.db"
