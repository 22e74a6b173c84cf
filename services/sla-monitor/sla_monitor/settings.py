"""SLA monitor configuration, read once from the environment at start."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import SCHEMA_PATTERN, ServiceSettings, sqlite_url
from sla_monitor.smtp_url import SmtpServer, parse_smtp_url

#: Where a lead is opened from an assignment message: intake's own lead view, unless a CRM's page is set.
DEFAULT_LEAD_URL_TEMPLATE = "http://127.0.0.1:8000/v1/leads/{lead_id}"


def _lead_url_template(value: str) -> str:
    from urllib.parse import urlsplit

    rest = value.replace("{lead_id}", "")
    if "{lead_id}" not in value or "{" in rest or "}" in rest:
        raise ValueError("LEAD_URL_TEMPLATE must contain {lead_id} and no other {placeholder}, "
                         "e.g. https://crm.example.com/leads/{lead_id}")
    parts = urlsplit(rest)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("LEAD_URL_TEMPLATE must be an http(s) URL without spaces, "
                         "e.g. https://crm.example.com/leads/{lead_id}")
    return value


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http(s) URL without query, e.g. https://api.hubapi.com")
    return value


def _smtp_url(value: SecretStr | None) -> SecretStr | None:
    if value is None or not value.get_secret_value():
        return None  # SMTP_URL= (empty) is unset
    parse_smtp_url(value.get_secret_value())
    return value


def _smtp_from(value: str) -> str:
    from email.headerregistry import Address
    from email.utils import parseaddr

    _, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if (any(ord(c) < 32 or ord(c) == 127 for c in value) or not local or not domain
            or any(c.isspace() for c in address)):
        raise ValueError('SMTP_FROM must be an email address, optionally with a name: '
                         '"leadrouter <leadrouter@example.com>"')
    Address(addr_spec=address)  # what the email package will need to write the From header
    return value


class SlaMonitorSettings(ServiceSettings):
    # A refused value is never repeated in the error: SMTP_URL may carry a password.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    sla_monitor_database_url: str = sqlite_url("sla-monitor")
    #: PostgreSQL schema of this service's tables (its own, so one database can host all three services).
    sla_monitor_database_schema: str = Field(default="sla_monitor", pattern=SCHEMA_PATTERN)
    sla_monitor_port: int = 8002
    #: SLA policies that seed an empty database (afterwards PUT /v1/sla/policies changes them).
    sla_policies_path: str = "config/sla-policies.yaml"
    #: Allow webhook URLs that resolve to loopback or private addresses (local development only).
    allow_private_webhook_targets: bool = False
    #: A touch dated up to this long before its assignment still counts (CRMs report whole seconds and drift).
    touch_clock_skew_seconds: float = Field(default=5.0, ge=0, le=3600)
    #: The ticker never sleeps longer than this, so a due clock fires well within a second.
    ticker_max_sleep_seconds: float = 0.25
    #: Total deadline of one webhook request: connect, TLS, sending and reading the answer together.
    webhook_timeout_seconds: float = 10.0
    #: Of a webhook's answer only this much is read (its status is what counts); the rest is cut off.
    webhook_max_response_bytes: int = 4096
    #: After a subscription's secret is rotated, deliveries are signed with the previous one too this long.
    subscription_secret_grace_seconds: float = 24 * 3600.0
    #: Attempts per delivery; with the backoff below they span more than 24 hours.
    delivery_max_attempts: int = 20
    delivery_first_retry_seconds: float = 5.0
    delivery_max_retry_seconds: float = 6 * 3600.0
    #: A subscription whose deliveries fail this many times in a row is disabled.
    subscription_max_consecutive_failures: int = 50
    #: The link to a lead in ``lead.assigned`` Slack messages; ``{lead_id}`` is replaced by the lead's id.
    lead_url_template: Annotated[str, Field(max_length=2048), AfterValidator(_lead_url_template)] = \
        DEFAULT_LEAD_URL_TEMPLATE
    #: Touches older than this are deleted once no running clock of their lead needs them.
    touch_retention_days: float = Field(default=30, gt=0)
    #: Finished (delivered or failed) webhook deliveries are kept this long for inspection.
    delivery_retention_days: float = Field(default=30, gt=0)
    #: HubSpot write-back (a private app's access token with crm.objects.contacts.write): when set, every
    #: assignment upserts the lead's contact with the rep as its owner. ``HUBSPOT_API_URL`` points elsewhere
    #: only for a test double.
    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: Annotated[str, AfterValidator(_http_url)] = "https://api.hubapi.com"
    #: Salesforce write-back (OAuth 2.0 client credentials of an app whose run-as user may edit Leads): when all
    #: three are set, every assignment makes the rep (``crm.salesforce_user_id``) the owner of the lead's Lead.
    salesforce_instance_url: Annotated[str, AfterValidator(_http_url)] | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    salesforce_api_version: str = Field(default="v62.0", pattern=r"^v[1-9][0-9]{1,2}\.0$")
    #: Total deadline of one request to a CRM's API.
    crm_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    #: Assignment emails to the rep (``sla_monitor.smtp_url``): ``smtp://``, ``smtp+starttls://`` or
    #: ``smtps://`` with ``user:password@`` when the server needs a login. Unset: no emails.
    smtp_url: Annotated[SecretStr | None, AfterValidator(_smtp_url)] = None
    #: The sender of assignment emails (an address the SMTP server lets this login send as).
    smtp_from: Annotated[str, Field(max_length=320), AfterValidator(_smtp_from)] = \
        "leadrouter <leadrouter@localhost>"
    #: Total deadline of one batch of emails over one SMTP connection: connect, login and every message.
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    #: The router's and intake's HTTP APIs, which the ops console (``/ops/``) calls with the admin token.
    router_url: Annotated[str, AfterValidator(_http_url)] = "http://127.0.0.1:8001"
    intake_url: Annotated[str, AfterValidator(_http_url)] = "http://127.0.0.1:8000"
    #: How long an ops console sign-in lasts.
    console_session_hours: float = Field(default=12, gt=0, le=24 * 30)
    #: While the live board is open, the database is re-read this often, so that changes made by another replica
    #: show up too (this replica's own show up at once).
    console_board_recheck_seconds: float = Field(default=2.0, gt=0, le=60)
    #: Breached clocks still without a response stay on the live board this long after their breach.
    console_board_breached_hours: float = Field(default=4.0, ge=0, le=24 * 7)
    #: Total deadline of one ops console call to the router's or intake's API.
    console_upstream_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @property
    def smtp_server(self) -> SmtpServer | None:
        return parse_smtp_url(self.smtp_url.get_secret_value()) if self.smtp_url is not None else None

    @model_validator(mode="after")
    def _salesforce_complete(self) -> SlaMonitorSettings:
        given = {"SALESFORCE_INSTANCE_URL": self.salesforce_instance_url,
                 "SALESFORCE_CLIENT_ID": self.salesforce_client_id,
                 "SALESFORCE_CLIENT_SECRET": self.salesforce_client_secret}
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(f"Salesforce write-back needs {', '.join(missing)} as well (or none of "
                             f"{', '.join(given)}, to leave it off).")
        return self
