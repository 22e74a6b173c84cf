"""lead identity across CRMs: external ids, parked CRM activities, consumed lead.linked events

Revision ID: 0003_lead_identity
Revises: 0002_outbox_lease_marks
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0003_lead_identity'
down_revision = '0002_outbox_lease_marks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_external_ids',
    sa.Column('crm', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('lead_id', sa.String(length=36), nullable=False),
    sa.Column('linked_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('crm', 'external_id')
    )
    op.create_index('ix_lead_external_ids_lead_id', 'lead_external_ids', ['lead_id'], unique=False)
    op.create_table('unmatched_activities',
    sa.Column('activity_id', sa.String(length=255), nullable=False),
    sa.Column('crm', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('activity_id')
    )
    op.create_index('ix_unmatched_activities_crm_external_id', 'unmatched_activities', ['crm', 'external_id'],
                    unique=False)
    op.create_index('ix_unmatched_activities_received_at', 'unmatched_activities', ['received_at'], unique=False)
    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index('ix_processed_events_processed_at', 'processed_events', ['processed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_processed_events_processed_at', table_name='processed_events')
    op.drop_table('processed_events')
    op.drop_index('ix_unmatched_activities_received_at', table_name='unmatched_activities')
    op.drop_index('ix_unmatched_activities_crm_external_id', table_name='unmatched_activities')
    op.drop_table('unmatched_activities')
    op.drop_index('ix_lead_external_ids_lead_id', table_name='lead_external_ids')
    op.drop_table('lead_external_ids')
