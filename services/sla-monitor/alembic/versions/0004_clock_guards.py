"""clock guards: touch arrival time, a clock version against lost updates, quarantine of unprocessable clocks

Revision ID: 0004_clock_guards
Revises: 0003_outbox_lease_marks
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_clock_guards'
down_revision = '0003_outbox_lease_marks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('quarantined_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('quarantine_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_column('quarantine_reason')
        batch_op.drop_column('quarantined_at')
        batch_op.drop_column('version')
    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.drop_column('received_at')
