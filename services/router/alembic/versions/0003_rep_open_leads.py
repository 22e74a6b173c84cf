"""open-lead counts per rep, kept by the database as assignments change

Revision ID: 0003_rep_open_leads
Revises: 0002_outbox_lease_marks
Create Date: 2026-11-27

A lead is open for its rep while its assignment is current, assigned and untouched. Routing needs each
candidate rep's open count for every batch (capacity, least-loaded); counting them from ``assignments`` costs
more the more leads are open. Triggers keep ``rep_open_leads`` exact on every insert, update and delete of an
assignment, whichever code path (or replica) changes it, in the same transaction.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_rep_open_leads'
down_revision = '0002_outbox_lease_marks'
branch_labels = None
depends_on = None

OPEN_OLD = "OLD.rep_id IS NOT NULL AND OLD.current AND OLD.state = 'assigned' AND OLD.touched_at IS NULL"
OPEN_NEW = "NEW.rep_id IS NOT NULL AND NEW.current AND NEW.state = 'assigned' AND NEW.touched_at IS NULL"
DECREMENT = "UPDATE rep_open_leads SET open_leads = open_leads - 1 WHERE rep_id = OLD.rep_id"
INCREMENT = ("INSERT INTO rep_open_leads (rep_id, open_leads) VALUES (NEW.rep_id, 1) "
             "ON CONFLICT (rep_id) DO UPDATE SET open_leads = rep_open_leads.open_leads + 1")


def upgrade() -> None:
    op.create_table('rep_open_leads',
    sa.Column('rep_id', sa.String(length=64), nullable=False),
    sa.Column('open_leads', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('rep_id')
    )
    op.execute("INSERT INTO rep_open_leads (rep_id, open_leads) SELECT rep_id, COUNT(*) FROM assignments "
               "WHERE rep_id IS NOT NULL AND current AND state = 'assigned' AND touched_at IS NULL GROUP BY rep_id")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION assignments_count_open() RETURNS trigger AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') AND {OPEN_OLD} THEN {DECREMENT}; END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') AND {OPEN_NEW} THEN {INCREMENT}; END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER assignments_count_open AFTER INSERT OR UPDATE OR DELETE ON assignments "
                   "FOR EACH ROW EXECUTE FUNCTION assignments_count_open()")
    else:
        op.execute(f"CREATE TRIGGER assignments_open_inserted AFTER INSERT ON assignments WHEN {OPEN_NEW} "
                   f"BEGIN {INCREMENT}; END")
        op.execute(f"CREATE TRIGGER assignments_open_left AFTER UPDATE ON assignments WHEN {OPEN_OLD} "
                   f"BEGIN {DECREMENT}; END")
        op.execute(f"CREATE TRIGGER assignments_open_entered AFTER UPDATE ON assignments WHEN {OPEN_NEW} "
                   f"BEGIN {INCREMENT}; END")
        op.execute(f"CREATE TRIGGER assignments_open_deleted AFTER DELETE ON assignments WHEN {OPEN_OLD} "
                   f"BEGIN {DECREMENT}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER assignments_count_open ON assignments")
        op.execute("DROP FUNCTION assignments_count_open()")
    else:
        for name in ('inserted', 'left', 'entered', 'deleted'):
            op.execute(f"DROP TRIGGER assignments_open_{name}")
    op.drop_table('rep_open_leads')
