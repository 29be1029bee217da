"""events and entities: news events above stories, the entities a story mentions, the
vectors event grouping kept, and one alert per event per watch and channel

Revision ID: 0009
Revises: 0010

Added columns are nullable and left NULL on existing rows (stories stored before this are not
grouped; no backfill). ``stories.event_id`` and ``alerts.news_event_id`` carry no foreign key:
``events.first_story_id`` points back at stories (a cycle), and SQLite cannot add a foreign
key to an existing table without rebuilding it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from newswatch.storage.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('first_story_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('last_story_at', UTCDateTime(), nullable=False),
        sa.Column('story_count', sa.Integer(), nullable=False),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('outlets', sa.JSON(), nullable=False),
        sa.Column('grouping', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
        sa.UniqueConstraint('first_story_id', name=op.f('uq_events_first_story_id')),
    )
    op.create_index('ix_events_started_at', 'events', ['started_at'])
    op.create_index('ix_events_last_story_at', 'events', ['last_story_at'])
    op.create_table(
        'story_entities',
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE',
                                name=op.f('fk_story_entities_story_id_stories')),
        sa.PrimaryKeyConstraint('story_id', 'entity', name=op.f('pk_story_entities')),
    )
    op.create_index('ix_story_entities_entity', 'story_entities', ['entity'])
    op.create_table(
        'story_vectors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('encoder', sa.String(length=16), nullable=True),
        sa.Column('vector', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE',
                                name=op.f('fk_story_vectors_story_id_stories')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_story_vectors')),
        sa.UniqueConstraint('story_id', name=op.f('uq_story_vectors_story_id')),
    )
    op.add_column('stories', sa.Column('event_id', sa.Integer(), nullable=True))
    op.add_column('stories', sa.Column('event_score', sa.Float(), nullable=True))
    op.create_index('ix_stories_event_id', 'stories', ['event_id'])
    op.add_column('alerts', sa.Column('news_event_id', sa.Integer(), nullable=True))
    op.add_column('alerts', sa.Column('event_slot', sa.Integer(), nullable=True))
    op.create_index('ix_alerts_news_event_id', 'alerts', ['news_event_id'])
    op.create_index('uq_alerts_event_slot_watch_channel', 'alerts',
                    ['event_slot', 'watch', 'channel'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_alerts_event_slot_watch_channel', table_name='alerts')
    op.drop_index('ix_alerts_news_event_id', table_name='alerts')
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop and
    # recreate stories, and with foreign keys on that deletes every revision (ON DELETE CASCADE)
    op.drop_column('alerts', 'event_slot')
    op.drop_column('alerts', 'news_event_id')
    op.drop_index('ix_stories_event_id', table_name='stories')
    op.drop_column('stories', 'event_score')
    op.drop_column('stories', 'event_id')
    op.drop_table('story_vectors')
    op.drop_index('ix_story_entities_entity', table_name='story_entities')
    op.drop_table('story_entities')
    op.drop_index('ix_events_last_story_at', table_name='events')
    op.drop_index('ix_events_started_at', table_name='events')
    op.drop_table('events')
