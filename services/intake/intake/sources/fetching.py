"""What a fetch-based lead source (Meta Lead Ads, LinkedIn Lead Sync) hands the lead fetch worker.

Their webhooks carry ids only: a ``LeadNotice`` is stored at once, and the worker later reads the lead from the
provider's API with the ``FetchRequest`` the provider's module builds, turning the answer into a submission or a
``FetchFailure`` that says whether trying again can help. Pure: no I/O here or in the provider modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from intake.sources.accept import SourceSubmission


class BadNotification(ValueError):
    """A provider's notification is not what its documentation describes; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LeadNotice:
    """A provider told us a lead exists; ``details`` hold ids and times only, never the person's answers."""

    provider: str
    provider_lead_id: str
    form_id: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchRequest:
    """A GET to the provider's API. Never logged: the query or headers carry the access token."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"FetchRequest(url={self.url!r}, params=<hidden>, headers=<hidden>)"


class FailureKind(StrEnum):
    #: The provider is down, slow or rate-limiting: retried with backoff, without limit.
    TRANSIENT = "transient"
    #: The access token is missing, invalid or expired, or lacks a permission: retried on a slow schedule, and
    #: at once when the service starts again (with a new token).
    AUTH = "auth"
    #: The provider says the lead cannot be read (unknown id): kept as failed, not retried.
    INVALID = "invalid"
    #: The lead was read, but the field mapping refused it (no email or phone): kept as failed; retried once
    #: when the service starts again (with a corrected mapping).
    UNMAPPED = "unmapped"


@dataclass(frozen=True)
class FetchFailure:
    kind: FailureKind
    #: Why, without personal data: the HTTP status and the provider's error code, or the fields refused.
    reason: str


class BadLead(ValueError):
    """The provider answered 200 with a lead that does not have the documented shape."""


class LeadSourceAdapter(Protocol):
    """One provider's request building and parsing for the fetch worker."""

    @property
    def provider(self) -> str: ...

    @property
    def token_variable(self) -> str:
        """The variable holding the access token the fetches need (named in logs and readiness when unset)."""
        ...

    def fetch_request(self, notice: LeadNotice, *, token: str) -> FetchRequest: ...

    def submission(self, notice: LeadNotice, lead: Any) -> SourceSubmission:
        """The fetched lead as a submission; raises ``BadLead`` when it is not shaped as documented."""
        ...

    def failure(self, status: int, body: Any) -> FetchFailure:
        """What a non-2xx answer means for retrying."""
        ...
