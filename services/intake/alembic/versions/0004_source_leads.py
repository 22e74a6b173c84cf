"""source_leads: a lead-source lead (Typeform, Tally, Google Ads, Zuddl, ...) by the provider's own id

Revision ID: 0004_source_leads
Revises: 0003_lead_identity
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_source_leads'
down_revision = '0003_lead_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_leads',
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('provider_lead_id', sa.String(length=255), nullable=False),
    sa.Column('lead_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'provider_lead_id')
    )


def downgrade() -> None:
    op.drop_table('source_leads')
