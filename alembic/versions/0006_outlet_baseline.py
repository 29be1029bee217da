"""outlets.baseline_done_at: when the outlet's first (baseline) crawl finished

Revision ID: 0006
Revises: 0005

A first crawl records a baseline and sends no alerts. Before this revision "first crawl" meant
"no URL of the outlet stored yet", so a first crawl killed midway lost its baseline: the rerun
alerted the articles the killed run had not reached. Now the baseline ends only when a crawl of
the outlet finishes (``Store.end_baseline``). Outlets that already have stored URLs are past
their baseline under the old rule, and are marked done here.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from newswatch.storage.types import UTCDateTime, utcnow

    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_done_at', sa.DateTime(timezone=True),
                                      nullable=True))
    outlets = sa.table('outlets', sa.column('id', sa.Integer()),
                       sa.column('baseline_done_at', UTCDateTime()))
    urls = sa.table('story_urls', sa.column('outlet_id', sa.Integer()))
    has_urls = sa.exists().where(urls.c.outlet_id == outlets.c.id)
    op.get_bind().execute(sa.update(outlets).where(has_urls).values(baseline_done_at=utcnow()))


def downgrade() -> None:
    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.drop_column('baseline_done_at')
