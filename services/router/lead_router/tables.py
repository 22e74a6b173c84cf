"""The router database: routing document versions, rep state, rotation cursors, leads and assignments."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table

from shared.db import UTCDateTime
from shared.events import limits
from shared.inbox import processed_events_table
from shared.outbox import outbox_marks_table, outbox_table
from shared.versioned import versions_table

metadata = MetaData()

routing_configs = versions_table("routing_configs", metadata)

rep_states = Table(
    "rep_states",
    metadata,
    Column("rep_id", String(limits.MAX_REP_ID), primary_key=True),
    Column("active", Boolean(), nullable=False, default=True),
    Column("out_of_office_until", UTCDateTime(), nullable=True),
    Column("capacity", Integer(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Each rep's open leads (current, assigned, untouched assignments), kept exact by database triggers on
#: ``assignments`` (migration 0003), so routing reads a few rows instead of counting over every open lead.
rep_open_leads = Table(
    "rep_open_leads",
    metadata,
    Column("rep_id", String(limits.MAX_REP_ID), primary_key=True),
    Column("open_leads", Integer(), nullable=False),
)

team_cursors = Table(
    "team_cursors",
    metadata,
    Column("team_id", String(limits.MAX_TEAM_ID), primary_key=True),
    Column("last_rep_id", String(limits.MAX_REP_ID), nullable=True),
    Column("current_weights", JSON(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(limits.MAX_LEAD_ID), primary_key=True),
    Column("email", String(limits.MAX_EMAIL), nullable=True, index=True),
    Column("email_domain", String(255), nullable=True, index=True),
    Column("data", JSON(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False),
    Column("state", String(16), nullable=False),  # assigned | queued | superseded
    Column("current", Boolean(), nullable=False),
    Column("team", String(limits.MAX_TEAM_ID), nullable=False),
    Column("rep_id", String(limits.MAX_REP_ID), nullable=True),
    Column("urgency", String(8), nullable=False),
    Column("rule_id", String(limits.MAX_RULE_ID), nullable=True),
    Column("explanation", JSON(), nullable=False),
    Column("config_version", Integer(), nullable=False),
    Column("reason", String(16), nullable=False),  # initial | reassigned
    Column("queued_at", UTCDateTime(), nullable=True),
    Column("assigned_at", UTCDateTime(), nullable=True),
    Column("touched_at", UTCDateTime(), nullable=True),
    Index("ix_assignments_lead_id", "lead_id", "id"),
    Index("ix_assignments_open_by_rep", "rep_id", "current", "touched_at"),
    Index("ix_assignments_queue", "state", "current", "queued_at"),
)

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)
outbox_marks = outbox_marks_table(metadata)
