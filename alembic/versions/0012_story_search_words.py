"""story_search (PostgreSQL): a ``words`` column, the document's lexemes without positions,
which carries the GIN index instead of ``document``

Revision ID: 0012
Revises: 0011

A phrase answered from the GIN index on ``document`` made PostgreSQL read (de-TOAST) every
candidate's document to check positions: 40 ms for a word in half of 20,000 stories. Searches
now find candidates in ``words`` (``strip(document)``: every lexeme ANDed, no recheck) and
check phrases on the newest candidates only (``storage/search.py``). Filled from ``document``
here. SQLite (FTS5) is unchanged.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE story_search ADD COLUMN words tsvector")
    op.execute("UPDATE story_search SET words = strip(document)")
    op.execute("ALTER TABLE story_search ALTER COLUMN words SET NOT NULL")
    op.drop_index('ix_story_search_document', table_name='story_search')
    op.create_index('ix_story_search_words', 'story_search', ['words'], postgresql_using='gin')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_story_search_words', table_name='story_search')
    op.create_index('ix_story_search_document', 'story_search', ['document'],
                    postgresql_using='gin')
    op.drop_column('story_search', 'words')
