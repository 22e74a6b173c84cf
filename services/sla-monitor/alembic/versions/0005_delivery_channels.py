"""delivery channels: the id a CRM write-back answered, deliveries by lead, and CRM ids learned after routing

Revision ID: 0005_delivery_channels
Revises: 0004_clock_guards
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005_delivery_channels'
down_revision = '0004_clock_guards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_deliveries_lead', ['lead_id'], unique=False)
    op.create_table(
        'lead_links',
        sa.Column('lead_id', sa.String(length=36), nullable=False),
        sa.Column('crm', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('linked_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('lead_id', 'crm'),
    )
    with op.batch_alter_table('lead_links', schema=None) as batch_op:
        batch_op.create_index('ix_lead_links_linked_at', ['linked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lead_links', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_links_linked_at')
    op.drop_table('lead_links')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_lead')
        batch_op.drop_column('external_id')
