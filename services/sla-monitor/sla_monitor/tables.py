"""The SLA monitor database: policies, clocks, touches, subscriptions and the delivery log."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, text

from shared.db import UTCDateTime
from shared.events import limits
from shared.inbox import processed_events_table
from shared.outbox import outbox_marks_table, outbox_table
from shared.versioned import versions_table

metadata = MetaData()

#: The clocks the console board shows (and ``ix_clocks_board`` holds): those still open. A query that wants the
#: index must say this condition in these words, literally (SQLite matches a partial index's condition by its
#: terms, and not through bound parameters).
BOARD_STATES_SQL = "state IN ('running', 'breached')"

policy_versions = versions_table("policy_versions", metadata)

clocks = Table(
    "clocks",
    metadata,
    Column("clock_id", String(36), primary_key=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False, index=True),
    Column("partition", Integer(), nullable=False),
    Column("assignment_event_id", String(64), nullable=False, unique=True),
    Column("team", String(limits.MAX_TEAM_ID), nullable=False),
    Column("rep_id", String(limits.MAX_REP_ID), nullable=True),
    Column("urgency", String(8), nullable=False),
    Column("source", String(limits.MAX_SLUG), nullable=True),
    Column("campaign", String(limits.MAX_TEXT), nullable=True),
    Column("lead", JSON(), nullable=False),  # name, company, source, campaign for alerts
    Column("policy", JSON(), nullable=False),  # the policy as it was when the clock started
    Column("policy_version", Integer(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("assigned_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("warn_at", UTCDateTime(), nullable=True),
    Column("warned_at", UTCDateTime(), nullable=True),
    Column("breached_at", UTCDateTime(), nullable=True),
    Column("responded_at", UTCDateTime(), nullable=True),
    Column("cancelled_at", UTCDateTime(), nullable=True),
    Column("response_seconds", Float(), nullable=True),
    Column("escalation_level", Integer(), nullable=False),
    Column("follow_up", String(16), nullable=True),
    Column("touches", Integer(), nullable=False),
    Column("last_touch_at", UTCDateTime(), nullable=True),
    Column("gap_alerted", Boolean(), nullable=False),
    #: When the ticker next has something to do for this clock; NULL once nothing is left.
    Column("next_action_at", UTCDateTime(), nullable=True),
    Column("history", JSON(), nullable=False),
    #: Changes with every write, so a writer holding a stale copy of the clock cannot overwrite a newer one.
    Column("version", BigInteger(), nullable=False, server_default="0"),
    #: Set when the clock could not be processed (its stored policy no longer computes); it is then left alone.
    Column("quarantined_at", UTCDateTime(), nullable=True),
    Column("quarantine_reason", String(200), nullable=True),
    Index("ix_clocks_partition_next_action_at", "partition", "next_action_at"),
    Index("ix_clocks_started_at", "started_at"),
    #: The console board: the open clocks (a small share of all once history builds up) in due order.
    Index("ix_clocks_board", "due_at", postgresql_where=text(BOARD_STATES_SQL), sqlite_where=text(BOARD_STATES_SQL)),
)

touches = Table(
    "touches",
    metadata,
    Column("activity_id", String(limits.MAX_ACTIVITY_ID), primary_key=True),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False),
    Column("type", String(32), nullable=False),
    Column("direction", String(16), nullable=True),
    Column("status", String(limits.MAX_STATUS), nullable=True),
    Column("rep_id", String(limits.MAX_REP_ID), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    #: When the activity reached leadrouter; a touch dated later than this counts as made on arrival.
    Column("received_at", UTCDateTime(), nullable=True),
    Index("ix_touches_lead_id_occurred_at", "lead_id", "occurred_at"),
    Index("ix_touches_occurred_at", "occurred_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("events", JSON(), nullable=False),
    Column("filter", JSON(), nullable=False),
    #: The channel: cloudevents | slack (webhooks); hubspot | salesforce | email (built-in, see sla_monitor.targets)
    Column("format", String(16), nullable=False),
    Column("secret", String(128), nullable=False),
    #: After a rotation, the secret deliveries are also signed with until ``previous_secret_expires_at``.
    Column("previous_secret", String(128), nullable=True),
    Column("previous_secret_expires_at", UTCDateTime(), nullable=True),
    Column("active", Boolean(), nullable=False),
    Column("consecutive_failures", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("lead_id", String(limits.MAX_LEAD_ID), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed | superseded
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_status", Integer(), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    #: The lead's id in the CRM a write-back answered (then published as ``lead.linked``).
    Column("external_id", String(limits.MAX_EXTERNAL_ID), nullable=True),
    Index("ix_deliveries_created_at", "created_at"),
    Index("ix_deliveries_lead", "lead_id"),
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    Index("ix_deliveries_subscription", "subscription_id", "id"),
)

#: The lead's ids in the CRMs learned after routing (``lead.linked``), so a reassignment's write-back updates the
#: record leadrouter already created instead of creating another.
lead_links = Table(
    "lead_links",
    metadata,
    Column("lead_id", String(limits.MAX_LEAD_ID), primary_key=True),
    Column("crm", String(16), primary_key=True),
    Column("external_id", String(limits.MAX_EXTERNAL_ID), nullable=False),
    Column("linked_at", UTCDateTime(), nullable=False),
    Index("ix_lead_links_linked_at", "linked_at"),
)

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)
outbox_marks = outbox_marks_table(metadata)
