"""the console board's index: open clocks (running or breached) by due time, so the board reads the few open
clocks in order instead of scanning every clock ever started

Revision ID: 0006_board_index
Revises: 0005_delivery_channels
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_board_index'
down_revision = '0005_delivery_channels'
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('running', 'breached')")


def upgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.create_index('ix_clocks_board', ['due_at'], unique=False, postgresql_where=OPEN,
                              sqlite_where=OPEN)


def downgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_clocks_board')
