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
* PostgreSQL: ``story_search(story_id, document tsvector, words tsvector)``, ``simple``
  configuration (no stemming, no stop words); title words weigh A. ``words`` is
  ``strip(document)`` (its lexemes, no positions: small, rarely TOASTed) and carries the GIN
  index (migration 0012). A text longer than 16,383 tokens has its later positions clamped by
  PostgreSQL, so a phrase far into a very long text may be missed there.

Query words are ANDed; a word is matched as a phrase. ``matching_story_ids(q, dialect)`` is a
SELECT of story ids for use in ``Story.id.in_(...)``; ``story_matches(session, column, q)`` is
that condition as the planner should read it when the stories are wanted newest first.

On PostgreSQL a phrase is checked apart: a phrase ``tsquery`` answered from a GIN index makes
PostgreSQL read (de-TOAST) the document of every candidate to check positions, 40 ms for a word
in half of 20,000 stories. ``story_candidates``: every lexeme of every word in ``words``
(answered from the index alone); ``phrase_check``: the phrases in ``document``, one story at a
time; ``story_check``: both, one story at a time. ``queries.find_stories`` walks the latest
stories with ``story_check`` (a common word), or checks the phrases on the candidates newest
first (a rarer one), and stops after the matches it wants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from newswatch.fold import search_form

__all__ = ["SEARCH_TABLE", "Check", "index_story", "index_stories", "is_search_table",
           "matching_story_ids", "phrase_check", "query_phrases", "story_candidates",
           "story_check", "story_matches"]

SEARCH_TABLE = "story_search"
SQLITE_MANY = 2000  # story_matches: from this many matches on, SQLite walks the stories instead
_FTS = table(SEARCH_TABLE, column("rowid"), column("title"), column("body"))
_PG = table(SEARCH_TABLE, column("story_id"), column("document"), column("words"))
Check = Callable[[ColumnElement[int]], ColumnElement[bool]]  # a condition on one story id

_SQLITE_UPSERT = text(
    f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, title, body) VALUES (:sid, :title, :body)")
_PG_UPSERT = text(
    f"INSERT INTO {SEARCH_TABLE} (story_id, document, words) SELECT :sid, d, strip(d) FROM "
    "(SELECT setweight(to_tsvector('simple', :title), 'A') || to_tsvector('simple', :body) "
    "AS d) AS new ON CONFLICT (story_id) DO UPDATE "
    "SET document = EXCLUDED.document, words = EXCLUDED.words")


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


def _pg_query(phrases: list[str], kind: str) -> ColumnElement[Any]:
    """The words as one tsquery: each a phrase (``phraseto_tsquery``) or its lexemes ANDed
    (``plainto_tsquery``), the words ANDed."""
    make = getattr(func, kind)
    query = make("simple", phrases[0])
    for phrase in phrases[1:]:
        query = query.op("&&")(make("simple", phrase))
    return query


def _one_lexeme(phrase: str) -> bool:
    """True when the phrase is one token of letters and digits (one lexeme: no phrase to
    check); conservative (``gpt-4`` is three lexemes to PostgreSQL)."""
    return " " not in phrase and phrase.isalnum()


def _pg_words(phrases: list[str]) -> ColumnElement[bool]:
    """PostgreSQL: ``words`` holds every lexeme of every word (answered from the GIN index
    alone; a superset of the matches when a word is a phrase)."""
    return _PG.c.words.op("@@")(_pg_query(phrases, "plainto_tsquery"))


def _pg_phrases(phrases: list[str]) -> ColumnElement[bool] | None:
    """PostgreSQL: ``document`` holds each word as a phrase (positions: read per document);
    None when every word is one lexeme, which ``_pg_words`` already decides."""
    if all(map(_one_lexeme, phrases)):
        return None
    return _PG.c.document.op("@@")(_pg_query(phrases, "phraseto_tsquery"))


def _pg_match(phrases: list[str]) -> ColumnElement[bool]:
    """PostgreSQL: the story holds every word of the query, as a phrase where it is one."""
    phrase = _pg_phrases(phrases)
    return _pg_words(phrases) if phrase is None else _pg_words(phrases) & phrase


def matching_story_ids(q: str, dialect: str) -> Select[Any]:
    """SELECT of the ids of stories whose title or text holds every word of ``q`` (indexed).
    A query with no searchable word selects nothing."""
    phrases = query_phrases(q)
    if dialect == "postgresql":
        if not phrases:
            return select(_PG.c.story_id).where(literal_column("false"))
        return select(_PG.c.story_id).where(_pg_match(phrases))
    if not phrases:
        return select(_FTS.c.rowid).where(literal_column("0"))
    expression = " AND ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return select(_FTS.c.rowid).where(literal_column(SEARCH_TABLE).op("MATCH")(expression))


def story_candidates(session: Session, story_id: ColumnElement[int],
                     q: str) -> ColumnElement[bool]:
    """``story_matches`` without its ``phrase_check``: on PostgreSQL, the stories whose
    ``words`` hold every lexeme of every word (a superset of the matches, answered from the
    index alone); on SQLite, ``story_matches`` itself (FTS5 checks phrases in its index)."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        return story_matches(session, story_id, q)
    phrases = query_phrases(q)
    if not phrases:
        return literal_column("false")
    return story_id.in_(select(_PG.c.story_id).where(_pg_words(phrases)))


def phrase_check(session: Session, q: str) -> Check | None:
    """What ``story_candidates`` leaves to check, as a condition on one story id: on
    PostgreSQL, that its document holds each word as a phrase (read per story: meant for the
    candidates a query keeps, not all of them); None when there is nothing left to check
    (SQLite; every word one lexeme)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    phrase = _pg_phrases(query_phrases(q))
    return None if phrase is None else _per_story(phrase)


def story_check(session: Session, q: str) -> Check | None:
    """The whole search as a condition on one story id, read per story (for walking the
    stories in some order and stopping early): on PostgreSQL, its ``words`` first (small),
    then its document's phrases; None on SQLite (FTS5 has no cheap per-story test) or when
    the query has no searchable word."""
    phrases = query_phrases(q)
    if session.get_bind().dialect.name != "postgresql" or not phrases:
        return None
    return _per_story(_pg_match(phrases))


def _per_story(test: ColumnElement[bool]) -> Check:
    def check(story_id: ColumnElement[int]) -> ColumnElement[bool]:
        return select(test).where(_PG.c.story_id == story_id).scalar_subquery()
    return check


def story_matches(session: Session, story_id: ColumnElement[int], q: str) -> ColumnElement[bool]:
    """``story_id IN matching_story_ids(q)``, phrased for a query that wants the matching
    stories newest first and stops after some of them.

    On PostgreSQL it is the candidates and the phrase check of all of them; ``find_stories``
    checks the phrases on the newest candidates only (``story_candidates``, ``phrase_check``).
    SQLite cannot tell how many stories the
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
