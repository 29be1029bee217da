"""A story's identity, decided and written on one connection with SQLAlchemy Core statements.

The hot path of every crawl (see storage/store.py for the rules and the transactions around
it): statements are built once at import, each decision costs one or two indexed SELECTs, and
new rows are written with plain INSERT ... RETURNING -- no ORM unit of work. ``Written`` carries
the column values the caller knows, so ORM objects for the plan_alerts hook can be attached to
a session without reading the rows back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import (
    and_,
    bindparam,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from newswatch.storage.fingerprint import (
    MIN_OVERLAP,
    NEAR_DUPLICATE_DISTANCE,
    VERIFY_DISTANCE,
    Fingerprint,
    distance,
    overlap,
    shingles,
)
from newswatch.storage.models import Revision, Story, StorySimhashBand, StoryUrl
from newswatch.storage.search import index_story
from newswatch.text import change_key, is_trivial_change, titled_hash

Outcome = Literal["new", "changed", "unchanged", "duplicate"]
PG_IDENTITY_LOCK = 0x73746F72  # "stor": first key of the identity decisions' advisory locks
MAX_VERIFY = 5  # candidates whose text is compared when no SimHash is within distance 3

_S, _R, _U, _B = (m.__table__ for m in (Story, Revision, StoryUrl, StorySimhashBand))


class ArticleLike(Protocol):
    title: str
    text: str
    published: datetime | None
    author: str | None
    language: str | None


@dataclass(frozen=True)
class Known:
    """A stored URL (or text): its story, the revision and that revision's hash and title."""

    story_id: int
    revision_id: int
    content_hash: str
    title: str = ""
    text_same: bool | None = None  # set by a caller that already compared the text (same_text)


@dataclass
class Written:
    """What ``record`` decided; ``story`` / ``revision``: column values known without a read."""

    outcome: Outcome
    story_id: int
    revision_id: int
    story: dict[str, Any] = field(default_factory=dict)
    revision: dict[str, Any] = field(default_factory=dict)


# -- statements (built once; SQLAlchemy caches their compiled form) ---------------------------

_URL_JOIN = _U.join(_S, _S.c.id == _U.c.story_id).join(_R, _R.c.id == _S.c.latest_revision_id)
_URL_ROW = (
    select(_U.c.story_id, _S.c.latest_revision_id, _R.c.content_hash, _R.c.title)
    .select_from(_URL_JOIN)
    .where(_U.c.url == bindparam("url"))
)
# the URL's row (kind 1) and the revision already holding this exact text (kind 2), one trip
_LOOKUP = union_all(
    select(literal_column("1").label("kind"), _U.c.story_id, _S.c.latest_revision_id,
           _R.c.content_hash, _R.c.title)
    .select_from(_URL_JOIN)
    .where(_U.c.url == bindparam("url")),
    select(literal_column("2"), _R.c.story_id, _R.c.id, _R.c.content_hash, _R.c.title)
    .where(_R.c.content_hash == bindparam("hash")),
)
_BY_HASH = select(_R.c.story_id, _R.c.id, _R.c.content_hash, _R.c.title).where(
    _R.c.content_hash == bindparam("hash"))
_TEXT = select(_R.c.text).where(_R.c.id == bindparam("rid"))
# one lock per key, taken in key order (two writers never wait on each other in a cycle):
# ORDER BY makes PostgreSQL sort the keys before it calls the (volatile) lock function
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({PG_IDENTITY_LOCK}, k) "
                "FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k")
_NEW_STORY = insert(_S).returning(_S.c.id)
_NEW_REVISION = insert(_R).returning(_R.c.id)
_NEW_URL = insert(_U)
_NEW_BANDS = insert(_B)
_SET_LATEST = update(_S).where(_S.c.id == bindparam("sid"))
_TITLE = select(_S.c.title).where(_S.c.id == bindparam("sid"))
_NEAR: dict[int, Select[Any]] = {}
_VERIFY = (
    select(_S.c.id, _R.c.text)
    .join(_R, _R.c.id == _S.c.latest_revision_id)
    .where(_S.c.id.in_(bindparam("ids", expanding=True)))
)


def _near_statement(n_keys: int) -> Select[Any]:
    stmt = _NEAR.get(n_keys)
    if stmt is None:
        match = or_(*(and_(_B.c.band == bindparam(f"b{i}"), _B.c.value == bindparam(f"v{i}"))
                      for i in range(n_keys)))
        stmt = _NEAR[n_keys] = (
            select(_B.c.story_id, _B.c.simhash, _S.c.latest_revision_id)
            .join(_S, _S.c.id == _B.c.story_id)
            .where(match)
        )
    return stmt


def _upsert_bands(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(_B).on_conflict_do_nothing()


# -- reads --------------------------------------------------------------------------------------


def lookup_url(conn: Connection, url: str) -> Known | None:
    """The stored URL's story and latest revision (one indexed SELECT), or None."""
    row = conn.execute(_URL_ROW, {"url": url}).first()
    return Known(*row) if row is not None else None


def same_text(conn: Connection, known: Known, fp: Fingerprint) -> bool:
    """True when the text is the revision's, or differs only in layout, punctuation or case."""
    if known.content_hash == fp.content_hash:
        return True
    stored = conn.scalar(_TEXT, {"rid": known.revision_id})
    return change_key(stored or "") == fp.change_key


def same_title(known: Known, title: str | None) -> bool:
    """True when the title is the revision's up to a trivial edit (or the page has none)."""
    return not title or is_trivial_change(known.title or "", title)


def compared(conn: Connection, known: Known, fp: Fingerprint) -> Known:
    """``known`` with ``text_same`` filled in (pass it to ``record`` as ``checked``)."""
    return replace(known, text_same=same_text(conn, known, fp))


def unchanged(known: Known, title: str | None) -> bool:
    """After ``compared``: neither text nor title changed beyond trivial edits."""
    return bool(known.text_same) and same_title(known, title)


# -- the decision -------------------------------------------------------------------------------


def record(
    conn: Connection,
    *,
    outlet_id: int,
    url: str,
    article: ArticleLike,
    fetched_at: datetime,
    fp: Fingerprint,
    checked: Known | None = None,
    expect_new: bool = False,
) -> Written:
    """Decide what the article is and write it (inside the caller's write transaction).

    ``checked``: the URL's row as read (and found different) just before, outside this
    transaction, with ``text_same`` set; the text is not compared again if the latest revision
    is still the same.
    ``expect_new``: that read found no such URL (on PostgreSQL the decision's locks,
    ``decision_keys``, are then taken before the first lookup, saving one round trip).
    """
    pg = conn.dialect.name == "postgresql"
    locked = pg and expect_new
    if locked:
        _lock_decision(conn, url, fp)
    params = {"url": url, "hash": fp.content_hash}
    by_url, same = _split(conn.execute(_LOOKUP, params).all())
    if by_url is None and pg and not locked:  # a new URL: serialise "is this text stored?"
        _lock_decision(conn, url, fp)
        by_url, same = _split(conn.execute(_LOOKUP, params).all())

    body = article.text or ""
    if by_url is not None:
        if by_url.content_hash == fp.content_hash:
            text_same = True
        elif (checked is not None and checked.revision_id == by_url.revision_id
              and checked.text_same is not None):
            text_same = checked.text_same  # compared just before, outside this transaction
        else:
            text_same = same_text(conn, by_url, fp)
        if text_same and same_title(by_url, article.title):
            return Written("unchanged", by_url.story_id, by_url.revision_id)
        if text_same:
            return _title_edit(conn, by_url, article, fetched_at, fp, same)
        story_id = by_url.story_id
        if same is None:
            revision = _revision_values(story_id, article, fetched_at, fp)
            revision["id"] = conn.execute(_NEW_REVISION, revision).scalar_one()
            story = _set_latest(conn, story_id, revision["id"], article, fetched_at, fp)
            return Written("changed", story_id, revision["id"], story, revision)
        revision = {"id": same.revision_id, "story_id": same.story_id,
                    "content_hash": fp.content_hash, "text": body}
        if same.story_id == story_id:  # back to an earlier text of this story
            story = _set_latest(conn, story_id, same.revision_id, article, fetched_at, fp)
            return Written("changed", story_id, same.revision_id, story, revision)
        # the page now carries another story's text: report that story
        return Written("duplicate", same.story_id, same.revision_id, {"id": same.story_id},
                       revision)

    if same is not None:
        _add_url(conn, same.story_id, url, outlet_id, fetched_at)
        revision = {"id": same.revision_id, "story_id": same.story_id,
                    "content_hash": fp.content_hash, "text": body}
        return Written("duplicate", same.story_id, same.revision_id, {"id": same.story_id},
                       revision)
    near = _near_duplicate(conn, fp)
    if near is not None:
        story_id, revision_id = near
        _add_url(conn, story_id, url, outlet_id, fetched_at)
        return Written("duplicate", story_id, revision_id, {"id": story_id},
                       {"id": revision_id, "story_id": story_id})

    story = {
        "outlet_id": outlet_id,
        "title": article.title or "",
        "author": article.author,
        "published": article.published,
        "language": article.language,
        "first_seen": fetched_at,
        "last_changed": fetched_at,
        "simhash": fp.simhash,
        "latest_revision_id": None,
    }
    story["id"] = story_id = conn.execute(_NEW_STORY, story).scalar_one()
    revision = _revision_values(story_id, article, fetched_at, fp)
    revision["id"] = conn.execute(_NEW_REVISION, revision).scalar_one()
    story["latest_revision_id"] = revision["id"]
    conn.execute(_SET_LATEST, {"sid": story_id, "latest_revision_id": revision["id"]})
    _add_url(conn, story_id, url, outlet_id, fetched_at)
    if fp.keys:
        conn.execute(_NEW_BANDS, _band_rows(story_id, fp))
    index_story(conn, story_id, story["title"], body)
    return Written("new", story_id, revision["id"], story, revision)


def _title_edit(conn: Connection, latest: Known, article: ArticleLike, fetched_at: datetime,
                fp: Fingerprint, same: Known | None) -> Written:
    """Same text, new title: a revision of its own ("changed"), under the text's hash when no
    revision holds it yet, else under the hash of text and title together (revision hashes are
    unique). A title the story had before points back at that revision."""
    story_id = latest.story_id
    content_hash = fp.content_hash
    if same is not None:
        earlier: Known | None = same
        if not same_title(same, article.title):
            content_hash = titled_hash(article.text or "", article.title or "")
            row = conn.execute(_BY_HASH, {"hash": content_hash}).first()
            earlier = Known(*row) if row is not None else None
        if earlier is not None and earlier.story_id == story_id:
            story = _set_latest(conn, story_id, earlier.revision_id, article, fetched_at, fp)
            return Written("changed", story_id, earlier.revision_id, story,
                           {"id": earlier.revision_id, "story_id": story_id,
                            "content_hash": earlier.content_hash, "text": article.text or "",
                            "title": earlier.title})
        if earlier is not None:  # another story holds this very text and title
            return Written("duplicate", earlier.story_id, earlier.revision_id,
                           {"id": earlier.story_id}, {"id": earlier.revision_id})
    revision = _revision_values(story_id, article, fetched_at, fp)
    revision["content_hash"] = content_hash
    revision["id"] = conn.execute(_NEW_REVISION, revision).scalar_one()
    story = _set_latest(conn, story_id, revision["id"], article, fetched_at, fp)
    return Written("changed", story_id, revision["id"], story, revision)


def decision_keys(url: str, fp: Fingerprint) -> list[int]:
    """The advisory lock keys of a new URL's decision, sorted: its URL, its text's hash and the
    (band, value) index keys its near-duplicates are looked up by. Two decisions that could see
    each other's story (same URL, same text, or a shared band -- every near-duplicate candidate
    shares one) share a key and take turns; the others run side by side."""
    names = [f"u{url}", f"h{fp.content_hash}", *(f"b{band}:{value}" for band, value in fp.keys)]
    return sorted({_key31(name) for name in names})


def _key31(name: str) -> int:
    """A stable signed 32-bit key for ``name`` (a collision only makes two decisions wait)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big",
                          signed=True)


def _lock_decision(conn: Connection, url: str, fp: Fingerprint) -> None:
    """Hold the decision's keys (``decision_keys``) until the transaction ends (PostgreSQL)."""
    conn.execute(_PG_LOCK, {"keys": decision_keys(url, fp)})


def _split(rows: list[Any]) -> tuple[Known | None, Known | None]:
    by_url = same = None
    for kind, story_id, revision_id, content_hash, title in rows:
        if kind == 1:
            by_url = Known(story_id, revision_id, content_hash, title)
        else:
            same = Known(story_id, revision_id, content_hash, title)
    return by_url, same


def _revision_values(
    story_id: int, article: ArticleLike, fetched_at: datetime, fp: Fingerprint
) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "content_hash": fp.content_hash,
        "text": article.text or "",
        "title": article.title or "",
        "first_seen": fetched_at,
    }


def _band_rows(story_id: int, fp: Fingerprint) -> list[dict[str, int]]:
    return [{"story_id": story_id, "band": band, "value": value, "simhash": fp.simhash}
            for band, value in fp.keys]


def _set_latest(
    conn: Connection,
    story_id: int,
    revision_id: int,
    article: ArticleLike,
    fetched_at: datetime,
    fp: Fingerprint,
) -> dict[str, Any]:
    """Point the story at the revision (and reindex it for search); article fields that are
    set replace the story's. Returns the story's column values now known (id included)."""
    values: dict[str, Any] = {
        "latest_revision_id": revision_id,
        "last_changed": fetched_at,
        "simhash": fp.simhash,
    }
    for name in ("title", "author", "published", "language"):
        value = getattr(article, name)
        if value:
            values[name] = value
    conn.execute(_SET_LATEST, {"sid": story_id, **values})
    if fp.keys:  # earlier revisions' bands stay: the story is found under all of them
        conn.execute(_upsert_bands(conn), _band_rows(story_id, fp))
    title = values.get("title") or conn.scalar(_TITLE, {"sid": story_id})
    index_story(conn, story_id, title, article.text)
    return {"id": story_id, **values}


def _add_url(conn: Connection, story_id: int, url: str, outlet_id: int, when: datetime) -> None:
    conn.execute(_NEW_URL, {"url": url, "story_id": story_id, "outlet_id": outlet_id,
                            "first_seen": when, "last_fetched_at": when})


def _near_duplicate(conn: Connection, fp: Fingerprint) -> tuple[int, int] | None:
    """(story id, its latest revision id) of the nearest story, or None."""
    keys = fp.keys
    if not keys:
        return None
    params: dict[str, int] = {}
    for i, (band, value) in enumerate(keys):
        params[f"b{i}"], params[f"v{i}"] = band, value
    best: dict[int, int] = {}
    latest: dict[int, int] = {}
    for story_id, value, revision_id in conn.execute(_near_statement(len(keys)), params):
        d = distance(value, fp.simhash)
        best[story_id] = min(d, best.get(story_id, d))
        latest[story_id] = revision_id
    ranked = sorted((d, story_id) for story_id, d in best.items() if d <= VERIFY_DISTANCE)
    if not ranked:
        return None
    if ranked[0][0] <= NEAR_DUPLICATE_DISTANCE:
        return ranked[0][1], latest[ranked[0][1]]
    ids = [story_id for _, story_id in ranked[:MAX_VERIFY]]
    texts = conn.execute(_VERIFY, {"ids": ids}).all()
    scored = sorted(((overlap(fp.shingles, shingles(t)), -sid) for sid, t in texts), reverse=True)
    if scored and scored[0][0] >= MIN_OVERLAP:
        story_id = -scored[0][1]
        return story_id, latest[story_id]
    return None
