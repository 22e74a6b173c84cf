"""lead fetches: leads announced by id only (Meta Lead Ads, LinkedIn Lead Sync), fetched durably

Revision ID: 0005_lead_fetches
Revises: 0004_source_leads
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005_lead_fetches'
down_revision = '0004_source_leads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_fetches',
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_lead_id', sa.String(length=255), nullable=False),
    sa.Column('form_id', sa.String(length=255), nullable=True),
    sa.Column('notice', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_kind', sa.String(length=16), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('lead_id', sa.String(length=36), nullable=True),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'provider_lead_id')
    )
    op.create_index('ix_lead_fetches_state_next_attempt_at', 'lead_fetches', ['state', 'next_attempt_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_lead_fetches_state_next_attempt_at', table_name='lead_fetches')
    op.drop_table('lead_fetches')
