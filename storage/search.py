"""The story search index: each story's title and current text, folded the way watches fold.

One row per story, rewritten in the transaction that points the story at a new latest revision
(``storage.identity``), and filled for stories stored earlier by migration 0005. It holds
``newswatch.fold.search_form`` of the title and text: NFKC, casefold, traditional ->
simplified, and a space around every CJK character, so the word tokenizer of each backend sees
one token per ideograph. A query word becomes a phrase of its tokens (``數字人`` -> ``"数 字 人"``)
answered from the index, whatever its length (a trigram index cannot use itself for the 1- and
2-character words Chinese is full of, such as 模型).

* SQLite: an FTS5 table ``story_search(title, body)``, ``rowid`` = story id, ``unicode61``
  tokenizer (diacritics kept, as watches keep them).
* PostgreSQL: ``story_search(story_id, document tsvector)`` with a GIN index, ``simple``
  configuration (no stemming, no stop words); title words weigh A. A text longer than
  16,383 tokens has its later positions clamped by PostgreSQL, so a phrase far into a very long
  text may be missed there.

Query words are ANDed; a word is matched as a phrase. ``matching_story_ids(q, dialect)`` is a
SELECT of story ids for use in ``Story.id.in_(...)``; ``story_matches(session, column, q)`` is
that condition as the planner should read it when the stories are wanted newest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from newswatch.fold import search_form

__all__ = ["SEARCH_TABLE", "index_story", "index_stories", "is_search_table",
           "matching_story_ids", "query_phrases", "story_matches"]

SEARCH_TABLE = "story_search"
SQLITE_MANY = 2000  # story_matches: from this many matches on, SQLite walks the stories instead
_FTS = table(SEARCH_TABLE, column("rowid"), column("title"), column("body"))
_PG = table(SEARCH_TABLE, column("story_id"), column("document"))

_SQLITE_UPSERT = text(
    f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, title, body) VALUES (:sid, :title, :body)")
_PG_UPSERT = text(
    f"INSERT INTO {SEARCH_TABLE} (story_id, document) VALUES (:sid, "
    "setweight(to_tsvector('simple', :title), 'A') || to_tsvector('simple', :body)) "
    "ON CONFLICT (story_id) DO UPDATE SET document = EXCLUDED.document")


def is_search_table(name: str | None) -> bool:
    """True for the index and SQLite's shadow tables of it (``story_search_data``, ...):
    not SQLAlchemy models, so schema comparisons leave them out."""
    return bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def _row(story_id: int, title: str | None, body: str | None) -> dict[str, Any]:
    return {"sid": story_id, "title": search_form(title or ""), "body": search_form(body or "")}


def index_stories(conn: Connection, rows: Iterable[tuple[int, str | None, str | None]]) -> None:
    """(Re)index stories: ``(story_id, title, text)`` each, inside the caller's transaction."""
    params = [_row(*r) for r in rows]
    if params:
        upsert = _PG_UPSERT if conn.dialect.name == "postgresql" else _SQLITE_UPSERT
        conn.execute(upsert, params)


def index_story(conn: Connection, story_id: int, title: str | None, body: str | None) -> None:
    """(Re)index one story's title and current text (inside the caller's transaction)."""
    index_stories(conn, [(story_id, title, body)])


def query_phrases(q: str) -> list[str]:
    """The query's words in search form, one phrase each (tokens separated by spaces); words
    with no letter or digit (bare punctuation) are dropped."""
    phrases = []
    for word in q.split():
        tokens = search_form(word).split()
        if any(ch.isalnum() for token in tokens for ch in token):
            phrases.append(" ".join(tokens))
    return phrases


def matching_story_ids(q: str, dialect: str) -> Select[Any]:
    """SELECT of the ids of stories whose title or text holds every word of ``q`` (indexed).
    A query with no searchable word selects nothing."""
    phrases = query_phrases(q)
    if dialect == "postgresql":
        if not phrases:
            return select(_PG.c.story_id).where(literal_column("false"))
        query = func.phraseto_tsquery("simple", phrases[0])
        for phrase in phrases[1:]:
            query = query.op("&&")(func.phraseto_tsquery("simple", phrase))
        return select(_PG.c.story_id).where(_PG.c.document.op("@@")(query))
    if not phrases:
        return select(_FTS.c.rowid).where(literal_column("0"))
    expression = " AND ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return select(_FTS.c.rowid).where(literal_column(SEARCH_TABLE).op("MATCH")(expression))


def story_matches(session: Session, story_id: ColumnElement[int], q: str) -> ColumnElement[bool]:
    """``story_id IN matching_story_ids(q)``, phrased for a query that wants the matching
    stories newest first and stops after some of them.

    PostgreSQL plans it well from its statistics. SQLite cannot tell how many stories the
    index matches and always starts from them: it looks every match up and sorts them all
    (30 ms for a word in half of 20,000 stories). When the index holds SQLITE_MANY matches or
    more (counted up to there: FTS5 stops early), the condition reads ``story_id + 0 IN``,
    which keeps the planner from starting there: it walks the stories in the order wanted,
    checks each against the matches (read once) and stops after the rows it needs."""
    dialect = session.get_bind().dialect.name
    ids = matching_story_ids(q, dialect)
    if dialect == "sqlite" and session.scalar(
            select(func.count()).select_from(ids.limit(SQLITE_MANY).subquery())) >= SQLITE_MANY:
        return (story_id + literal_column("0")).in_(ids)
    return story_id.in_(ids)
