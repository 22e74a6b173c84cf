"""The intake database: leads, activities, idempotency keys and the outbox."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

from shared.db import UTCDateTime
from shared.events import limits
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
