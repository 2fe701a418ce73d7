"""Settlement cycle: cycles, statements, lines, signatures, disputes, proposals, obligations, rounds,
set-offs and payment instructions.

Revision ID: 0004_cycle
Revises: 0001

The tables are created from their definitions in `o2o.store.cycle_tables` as they stand at this
revision; a later change to those tables comes with a migration of its own (and this one is then
frozen to explicit columns).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import MetaData

from o2o.store import cycle_tables

revision = "0004_cycle"
down_revision = "0001"
branch_labels = ("cycle",)
depends_on = None

_TABLES = (
    cycle_tables.cycles,
    cycle_tables.statements,
    cycle_tables.statement_lines,
    cycle_tables.signatures,
    cycle_tables.disputes,
    cycle_tables.proposals,
    cycle_tables.obligations,
    cycle_tables.rounds,
    cycle_tables.setoffs,
    cycle_tables.payments,
)


def upgrade() -> None:
    snapshot = MetaData()
    bind = op.get_bind()
    for table in _TABLES:
        table.to_metadata(snapshot)
    # Foreign keys to foundation tables resolve against the live database.
    snapshot.reflect(bind=bind, only=["agreements"])
    snapshot.create_all(bind=bind, tables=[snapshot.tables[t.name] for t in _TABLES])


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table.name)
