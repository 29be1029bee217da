"""host_pace: each host's settled AutoThrottle delay, from the last crawl that reached it

Revision ID: 0011
Revises: 0007

A crawl used to start every host at ``AUTOTHROTTLE_START_DELAY`` (0.5 s between requests,
halving per answer), so a recrawl whose few discovery pages all answer 304 spent most of its
time waiting on a delay the host had long since earned its way out of. The crawl now saves the
delay each host settled at, and the next crawl starts the host there (``crawler/throttle.py``).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('host_pace',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('delay', sa.Float(), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('host', name=op.f('pk_host_pace'))
    )


def downgrade() -> None:
    op.drop_table('host_pace')
