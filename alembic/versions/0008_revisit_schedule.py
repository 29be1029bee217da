"""story_urls.next_visit_at / revisit_seconds / listed_at: each article URL's revisit schedule

Revision ID: 0008
Revises: 0005

``revisit_seconds`` NULL: never scheduled (due at the next crawl; every URL stored before this
revision); 0: not visited again (older than the outlet's ``revisit.stop_after``). ``listed_at``:
the newest ``<lastmod>`` / feed date a discovery page announced for the URL and the crawl acted
on. (down_revision is 0005 on this branch; the coordinator re-chains it at merge.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('story_urls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_visit_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revisit_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('listed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_story_urls_outlet_id_next_visit_at',
                              ['outlet_id', 'next_visit_at'])


def downgrade() -> None:
    with op.batch_alter_table('story_urls', schema=None) as batch_op:
        batch_op.drop_index('ix_story_urls_outlet_id_next_visit_at')
        batch_op.drop_column('listed_at')
        batch_op.drop_column('revisit_seconds')
        batch_op.drop_column('next_visit_at')
