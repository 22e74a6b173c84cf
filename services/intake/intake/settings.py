"""Intake configuration, read once from the environment at start."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator

from shared.settings import SCHEMA_PATTERN, MissingCredentials, ServiceSettings, sqlite_url


class IntakeSettings(ServiceSettings):
    intake_database_url: str = sqlite_url("intake")
    #: PostgreSQL schema of this service's tables (its own, so one database can host all three services).
    intake_database_schema: str = Field(default="intake", pattern=SCHEMA_PATTERN)
    intake_port: int = 8000
    #: Comma-separated ``name:key`` pairs; the name is recorded as the lead's submitter.
    intake_api_keys: SecretStr | None = None
    crm_webhook_secret: SecretStr | None = None
    #: How far a CRM webhook's timestamp may be from now before it is refused as a replay.
    webhook_tolerance_seconds: int = 300
    intake_max_body_bytes: int = 64 * 1024
    intake_max_batch_bytes: int = 5 * 1024 * 1024
    intake_max_batch_rows: int = 5_000
    #: A lead whose email or phone was seen within this many days is marked ``duplicate_of`` the first one.
    duplicate_lookback_days: int = 90

    @model_validator(mode="after")
    def _credentials_are_required(self) -> Any:
        if not self.api_keys:
            raise MissingCredentials(
                "INTAKE_API_KEYS is not set. Set it to comma-separated name:key pairs, e.g. 'website:<random>'; "
                "`make run` uses the dev value 'dev:dev-key'.")
        if self.crm_webhook_secret is None or not self.crm_webhook_secret.get_secret_value():
            raise MissingCredentials(
                "CRM_WEBHOOK_SECRET is not set. Set it to the secret your CRM signs webhooks with; "
                "`make run` uses the dev value 'dev-secret'.")
        return self

    @property
    def api_keys(self) -> dict[str, str]:
        """``{key: name}`` parsed from INTAKE_API_KEYS."""
        if self.intake_api_keys is None:
            return {}
        keys = {}
        for pair in self.intake_api_keys.get_secret_value().split(","):
            name, sep, key = pair.strip().partition(":")
            if not sep or not name or not key:
                raise MissingCredentials(f"INTAKE_API_KEYS has an entry without 'name:key' form: {name!r}.")
            keys[key] = name
        return keys
