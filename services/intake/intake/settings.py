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
    #: While CRM_WEBHOOK_SECRET is rotated, webhooks signed with the previous secret are accepted too.
    crm_webhook_secret_previous: SecretStr | None = None
    #: How far a CRM webhook's timestamp may be from now before it is refused as a replay.
    webhook_tolerance_seconds: int = 300
    intake_max_body_bytes: int = 64 * 1024
    intake_max_batch_bytes: int = 5 * 1024 * 1024
    intake_max_batch_rows: int = 5_000
    #: Body limit of the lead-source webhooks (/v1/sources/...): a Typeform payload carries its form's definition.
    intake_max_source_bytes: int = 512 * 1024
    #: How far in the future a lead's ``captured_at`` may lie (the scanner's clock runs ahead) before a 422.
    captured_at_skew_seconds: float = Field(default=5.0, ge=0, le=3600)
    #: A lead whose email or phone was seen within this many days is marked ``duplicate_of`` the first one.
    duplicate_lookback_days: int = 90
    #: An Idempotency-Key is remembered this long; a retry with the same key after that is a new request.
    idempotency_key_retention_days: float = Field(default=7, gt=0)
    #: A CRM activity whose record no lead is linked to is kept this long, waiting for the link.
    unmatched_activity_retention_days: float = Field(default=30, gt=0)

    # Integrations (CONTRACT.md "Integrations"). An integration whose secret is unset answers 404 naming it.
    #: The address providers call; used where a signature covers the URL (HubSpot v3). Unset: the request's own.
    intake_public_url: str | None = None
    hubspot_client_secret: SecretStr | None = None
    #: Lets the HubSpot adapter look up the contact of a call, email or meeting (associations API).
    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: str = "https://api.hubapi.com"
    salesforce_outbound_token: SecretStr | None = None
    #: When set, a Salesforce Outbound Message from any other org is refused.
    salesforce_org_id: str | None = None
    pipedrive_webhook_user: SecretStr | None = None
    pipedrive_webhook_password: SecretStr | None = None
    #: Hex, as Close shows it when the webhook subscription is created.
    close_signature_key: SecretStr | None = None
    google_ads_webhook_key: SecretStr | None = None
    typeform_secret: SecretStr | None = None
    tally_signing_secret: SecretStr | None = None
    #: Zuddl signs with an undocumented scheme; its webhook carries this token in an X-Webhook-Token header.
    zuddl_webhook_token: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    meta_app_secret: SecretStr | None = None
    meta_page_access_token: SecretStr | None = None
    meta_graph_url: str = "https://graph.facebook.com/v21.0"
    linkedin_client_secret: SecretStr | None = None
    linkedin_access_token: SecretStr | None = None
    linkedin_api_url: str = "https://api.linkedin.com"
    #: The ``LinkedIn-Version`` (YYYYMM) the Lead Sync fetches ask for; LinkedIn retires a version after a year.
    linkedin_api_version: str = Field(default="202601", pattern=r"^\d{6}(\.\d{2})?$")
    # Fetches of leads announced by id only (Meta, LinkedIn): retried with backoff while the provider is down.
    lead_fetch_retry_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    lead_fetch_retry_cap_seconds: float = Field(default=900.0, gt=0, le=86400)
    #: An invalid or expired token, or a missing permission, is retried this often (and at every start).
    lead_fetch_auth_retry_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    #: The longest one fetch (connecting, sending, reading the whole answer) may take.
    lead_fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: A worker holds a claimed fetch this long (at least twice the timeout); another replica takes it over after.
    lead_fetch_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: Done lead fetches are deleted after this long (a provider's later repeat is still recognised by its lead id).
    lead_fetch_retention_days: float = Field(default=30, gt=0)
    #: Field mapping of lead sources, per provider and form (see config/sources.yaml).
    sources_config_path: str = "config/sources.yaml"

    @model_validator(mode="after")
    def _a_lead_fetch_ends_within_its_lease(self) -> Any:
        # A fetch still running when its lease ends is taken over by another replica, and neither could complete.
        if self.lead_fetch_lease_seconds < 2 * self.lead_fetch_timeout_seconds:
            raise ValueError(
                f"LEAD_FETCH_LEASE_SECONDS ({self.lead_fetch_lease_seconds}) must be at least twice "
                f"LEAD_FETCH_TIMEOUT_SECONDS ({self.lead_fetch_timeout_seconds}), so a fetch ends within its lease.")
        return self

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

    @property
    def crm_webhook_secrets(self) -> tuple[str, ...]:
        """The secrets a CRM webhook may be signed with: the current one and, while rotating, the previous one."""
        secrets = (self.crm_webhook_secret, self.crm_webhook_secret_previous)
        return tuple(s.get_secret_value() for s in secrets if s is not None and s.get_secret_value())
