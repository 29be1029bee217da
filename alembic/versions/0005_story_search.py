"""story_search: the full-text index of each story's title and current text (storage/search.py);
an index of matches by watch

Revision ID: 0005
Revises: 0003

SQLite: an FTS5 table (unicode61 tokenizer); PostgreSQL: a tsvector column with a GIN index.
Stories stored before this revision are indexed here, in batches, in the migration's
transaction. (There is no 0004. The revisions after this one were numbered as they were
written and chained as they landed: 0005 -> 0008 -> 0010 -> 0009 -> 0006 -> 0007.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from newswatch.fold import search_form
from newswatch.storage.search import SEARCH_TABLE, index_stories

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
PG_INSERT = sa.text(
    f"INSERT INTO {SEARCH_TABLE} (story_id, document) VALUES (:sid, "
    "setweight(to_tsvector('simple', :title), 'A') || to_tsvector('simple', :body))")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_index('ix_matches_watch_story_id', 'matches', ['watch', 'story_id'])
    if bind.dialect.name == 'postgresql':
        op.create_table(
            SEARCH_TABLE,
            sa.Column('story_id', sa.Integer(), nullable=False),
            sa.Column('document', sa.dialects.postgresql.TSVECTOR(), nullable=False),
            sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE',
                                    name=op.f('fk_story_search_story_id_stories')),
            sa.PrimaryKeyConstraint('story_id', name=op.f('pk_story_search')),
        )
        op.create_index('ix_story_search_document', SEARCH_TABLE, ['document'],
                        postgresql_using='gin')
    else:
        op.execute(f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
                   "title, body, tokenize = 'unicode61 remove_diacritics 0')")
    stories = sa.text(
        "SELECT s.id, s.title, r.text FROM stories s JOIN revisions r "
        "ON r.id = s.latest_revision_id WHERE s.id > :after ORDER BY s.id LIMIT :n")
    after = 0
    while True:
        rows = bind.execute(stories, {"after": after, "n": BATCH}).all()
        if not rows:
            break
        if bind.dialect.name == 'postgresql':  # the columns of this revision (0012 adds words)
            bind.execute(PG_INSERT, [{"sid": sid, "title": search_form(title or ""),
                                      "body": search_form(body or "")}
                                     for sid, title, body in rows])
        else:
            index_stories(bind, [tuple(r) for r in rows])
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_table(SEARCH_TABLE)
    op.drop_index('ix_matches_watch_story_id', table_name='matches')
