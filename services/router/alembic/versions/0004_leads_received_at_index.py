"""index leads by received_at (backtests read the last days' leads in received order)

Revision ID: 0004_leads_received_at_index
Revises: 0003_rep_open_leads
Create Date: 2026-11-27
"""
from alembic import op


revision = '0004_leads_received_at_index'
down_revision = '0003_rep_open_leads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_leads_received_at', 'leads', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_leads_received_at', table_name='leads')
