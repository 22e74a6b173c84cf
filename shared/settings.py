"""Settings building blocks. Each service defines one settings class from these; nothing else reads the environment."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth_throttle import FailedAttempts


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
    #: During a rotation the previous admin token stays valid too (two at once); unset it when done.
    admin_token_previous: SecretStr | None = None
    #: Largest JSON body of an API request; a larger one is refused with 413 before it is read.
    http_max_body_bytes: int = Field(default=64 * 1024, ge=1)
    #: Largest routing or policy document upload (JSON or YAML); refused with 413 before it is read.
    http_max_document_bytes: int = Field(default=1024 * 1024, ge=1)
    #: A client address whose credentials are refused this many times within AUTH_FAILURE_WINDOW_SECONDS gets
    #: 429 on every path that needs credentials until the oldest of those refusals is that old.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: float = Field(default=60, gt=0)
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    #: Seconds between outbox polls when nothing wakes the relay earlier.
    outbox_poll_interval: float = 0.5
    #: How long a relay's claim on the head of the outbox lasts. A relay that dies holding it (kill -9, a lost
    #: node) delays publishing by at most this long; a publish must finish within half of it or is retried.
    outbox_lease_seconds: float = Field(default=5, ge=1, le=300)
    #: Published outbox rows are kept this long, so they can be re-published if the broker lost them.
    outbox_retention_days: float = Field(default=7, gt=0)
    #: How often the relay compares the broker's end offsets with what it published (a restarted broker).
    outbox_broker_check_seconds: float = Field(default=30, gt=0)
    #: Ids of consumed events are remembered this long to drop repeats; must exceed OUTBOX_RETENTION_DAYS.
    processed_events_retention_days: float = Field(default=14, gt=0)
    retention_interval_seconds: float = Field(default=3600, gt=0)
    retention_batch_size: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _repeats_outlive_republishing(self) -> Any:
        if self.processed_events_retention_days <= self.outbox_retention_days:
            raise ValueError(
                f"PROCESSED_EVENTS_RETENTION_DAYS ({self.processed_events_retention_days:g}) must be longer than "
                f"OUTBOX_RETENTION_DAYS ({self.outbox_retention_days:g}), or a re-published event would no longer "
                "be recognised as a repeat; raise PROCESSED_EVENTS_RETENTION_DAYS.")
        return self

    @model_validator(mode="after")
    def _admin_token_is_required(self) -> Any:
        if self.admin_token is None or not self.admin_token.get_secret_value():
            raise MissingCredentials(
                "ADMIN_TOKEN is not set. Set it to a long random string; "
                "`make run` uses the dev value 'dev-admin'."
            )
        return self

    def failed_attempts(self) -> FailedAttempts:
        """A new count of refused credentials per client address, with this service's limits."""
        return FailedAttempts(limit=self.auth_failure_limit, window=self.auth_failure_window_seconds)

    @property
    def admin_tokens(self) -> tuple[bytes, ...]:
        """Every admin bearer token accepted now: ``ADMIN_TOKEN`` and, while rotating, ``ADMIN_TOKEN_PREVIOUS``."""
        tokens = (self.admin_token, self.admin_token_previous)
        return tuple(t.get_secret_value().encode() for t in tokens if t is not None and t.get_secret_value())


#: What ``*_DATABASE_SCHEMA`` accepts: a plain lower-case PostgreSQL identifier (no quoting needed).
SCHEMA_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"


def sqlite_url(service: str) -> str:
    """The embedded default database of a service: a SQLite file under ``./var/``."""
    return f"sqlite+aiosqlite:///var/{service}.db"
