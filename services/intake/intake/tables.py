"""The intake database: leads, their CRM ids, activities (and those waiting for their lead), idempotency keys,
lead fetches, the outbox and the consumed-events inbox."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

from shared.db import UTCDateTime
from shared.events import limits
from shared.inbox import processed_events_table
from shared.outbox import outbox_marks_table, outbox_table

metadata = MetaData()

leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(limits.MAX_LEAD_ID), primary_key=True),
    Column("email", String(limits.MAX_EMAIL), nullable=True),
    Column("phone", String(limits.MAX_PHONE), nullable=True),
    Column("source", String(limits.MAX_SLUG), nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("data", JSON(), nullable=False),
    Column("duplicate_of", String(limits.MAX_LEAD_ID), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_leads_email_received_at", "email", "received_at"),
    Index("ix_leads_phone_received_at", "phone", "received_at"),
)

activities = Table(
    "activities",
    metadata,
    Column("activity_id", String(limits.MAX_ACTIVITY_ID), primary_key=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False, index=True),
    Column("data", JSON(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer(), nullable=False),
    Column("response", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),  # for retention
)

#: CRM name + that CRM's id for a person -> the lead (``intake.identity``).
lead_external_ids = Table(
    "lead_external_ids",
    metadata,
    Column("crm", String(16), primary_key=True),
    Column("external_id", String(limits.MAX_EXTERNAL_ID), primary_key=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False, index=True),
    Column("linked_at", UTCDateTime(), nullable=False),
)

#: CRM activities whose record is not linked to a lead yet; recorded when it is (``intake.identity``).
unmatched_activities = Table(
    "unmatched_activities",
    metadata,
    Column("activity_id", String(limits.MAX_ACTIVITY_ID), primary_key=True),
    Column("crm", String(16), nullable=False),
    Column("external_id", String(limits.MAX_EXTERNAL_ID), nullable=False),
    Column("data", JSON(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False, index=True),  # for retention
    Index("ix_unmatched_activities_crm_external_id", "crm", "external_id"),
)

#: Consumed ``lead.linked`` events, so a redelivered one is skipped.
processed_events = processed_events_table(metadata)

#: Leads a provider announced by id only (Meta Lead Ads, LinkedIn Lead Sync), read from its API by
#: ``intake.lead_fetches``: one row per provider lead id, so a repeated webhook adds nothing.
lead_fetches = Table(
    "lead_fetches",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("provider_lead_id", String(255), primary_key=True),
    Column("form_id", String(255), nullable=True),
    #: The notice's ids and times (page, ad, form, occurredAt); never the person's answers.
    Column("notice", JSON(), nullable=False),
    #: ``pending`` (to fetch, or retrying), ``failed`` (kept with its reason), ``done`` (the lead is stored).
    Column("state", String(16), nullable=False),
    #: ``transient``, ``auth``, ``invalid``, ``unmapped`` (``intake.sources.fetching.FailureKind``) of the last failure.
    Column("failure_kind", String(16), nullable=True),
    #: Why the last attempt failed: HTTP status and provider error code, or the fields refused (no personal data).
    Column("last_error", String(500), nullable=True),
    Column("attempts", Integer(), nullable=False, default=0),
    #: When to try next; NULL = not retried automatically.
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    #: A worker claimed the row until then (it is fetching it); ``claim_id`` says which claim may complete it.
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("claim_id", String(36), nullable=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_lead_fetches_state_next_attempt_at", "state", "next_attempt_at"),
)

outbox = outbox_table(metadata)
outbox_marks = outbox_marks_table(metadata)

#: A lead from a lead source (Typeform, Google Ads, …), by the provider's own id: a provider's retry of the same
#: lead answers the lead_id stored the first time and stores nothing new.
source_leads = Table(
    "source_leads",
    metadata,
    Column("provider", String(limits.MAX_SLUG), primary_key=True),
    Column("provider_lead_id", String(limits.MAX_SOURCE_LEAD_ID), primary_key=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
