"""scheduler_state: the daemon's memory of each outlet's runs, now under Alembic

Revision ID: 0003
Revises: 0002

Daemons before this revision created the table themselves (SQLAlchemy ``create_all``) with the
same columns: on such a database the table is kept as it is, rows and all.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if 'scheduler_state' in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table('scheduler_state',
    sa.Column('outlet', sa.String(length=200), nullable=False),
    sa.Column('last_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=200), nullable=True),
    sa.Column('next_run', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('outlet', name=op.f('pk_scheduler_state'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_state')
