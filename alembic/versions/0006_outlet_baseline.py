"""outlets.baseline_done_at: when the outlet's first (baseline) crawl finished; alerts.uid:
each alert's stable identity for receivers

Revision ID: 0006
Revises: 0009

A first crawl records a baseline and sends no alerts. Before this revision "first crawl" meant
"no URL of the outlet stored yet", so a first crawl killed midway lost its baseline: the rerun
alerted the articles the killed run had not reached. Now the baseline ends only when a crawl of
the outlet finishes (``Store.end_baseline``). Outlets that already have stored URLs are past
their baseline under the old rule, and are marked done here.

``alerts.uid`` (32 random hex digits, unique) is the payload's ``alert_uid``, the webhook's
``Idempotency-Key`` and the email's ``Message-ID``, the same on every retry of the alert, so a
receiver can drop the second copy of an alert that a killed sender sent again. Existing alerts
get one here.
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0009'
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
    bind = op.get_bind()
    bind.execute(sa.update(outlets).where(has_urls).values(baseline_done_at=utcnow()))

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=32), nullable=True))
    alerts = sa.table('alerts', sa.column('id', sa.Integer()), sa.column('uid', sa.String(32)))
    ids = bind.execute(sa.select(alerts.c.id).where(alerts.c.uid.is_(None))).scalars().all()
    if ids:
        bind.execute(sa.update(alerts).where(alerts.c.id == sa.bindparam('row_id'))
                     .values(uid=sa.bindparam('new_uid')),
                     [{'row_id': i, 'new_uid': uuid.uuid4().hex} for i in ids])
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(op.f('uq_alerts_uid'), ['uid'])


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_alerts_uid'), type_='unique')
        batch_op.drop_column('uid')
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild drops and recreates
    # outlets, which the stories, URLs and crawl runs reference (a foreign key error)
    op.drop_column('outlets', 'baseline_done_at')
