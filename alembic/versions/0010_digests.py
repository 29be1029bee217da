"""digests: a digest channel's alerts of one period sent as one message (alerts/digest.py);
alerts.digest_id points at the digest an alert goes out in

Revision ID: 0010
Revises: 0008

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_digests_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('channel', 'period', name='uq_digests_channel_period'),
    sa.UniqueConstraint('key', name=op.f('uq_digests_key'))
    )
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.create_index('ix_digests_status_next_attempt_at', ['status', 'next_attempt_at'],
                              unique=False)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_digest_id'), ['digest_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alerts_digest_id_digests'), 'digests',
                                    ['digest_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alerts_digest_id_digests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alerts_digest_id'))
        batch_op.drop_column('digest_id')
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_index('ix_digests_status_next_attempt_at')
    op.drop_table('digests')
