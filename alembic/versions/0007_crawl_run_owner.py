"""crawl_runs: who ran the crawl (pid, host) and how it ended (status)

Revision ID: 0007
Revises: 0006

A crawl killed before it could close its row left ``ended_at`` empty for ever; the next crawl
on the same host now closes such rows as "interrupted" when their process is gone
(``Store.start_run``). Rows from before this revision have no pid: they are closed too.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs') as batch:
        batch.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=20), nullable=True))
    op.execute("UPDATE crawl_runs SET status = 'finished' WHERE ended_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('crawl_runs') as batch:
        batch.drop_column('status')
        batch.drop_column('host')
        batch.drop_column('pid')
