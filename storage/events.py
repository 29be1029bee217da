"""The statements event grouping and entity tagging need: storage keeps what they decide.

Storage does not group or tag (it imports no room): the crawl's grouping step (a hook that
``Store.record_article`` runs in the article's transaction, before ``plan_alerts``) decides and
calls these with the hook's session. ``lock_grouping`` serialises grouping decisions across
processes (SQLite's write transaction already holds the database's write lock; PostgreSQL
takes an advisory lock until commit), so ``story_vectors.id`` grows in the order stories were
grouped and ``grouped_since(after)`` returns exactly what other processes grouped since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from newswatch.storage.models import Event, Outlet, Revision, Story, StoryEntity, StoryVector

__all__ = ["GroupedStory", "add_story_entities", "create_event", "grouped_after", "grouped_since",
           "join_event", "latest_grouped", "lock_grouping", "was_grouped", "set_story_entities",
           "story_entities", "story_event"]

PG_GROUPING_LOCK = 0x6576656E  # "even": pg_advisory_xact_lock key for grouping decisions
BATCH = 5000  # grouped stories read at a time (grouped_after, grouped_since)


def lock_grouping(session: Session) -> None:
    """Hold the grouping lock until the transaction ends (PostgreSQL; SQLite's write
    transaction holds the whole database already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_GROUPING_LOCK})


@dataclass(frozen=True)
class GroupedStory:
    """A story already grouped: what a grouper needs to remember it."""

    seq: int  # story_vectors.id: the order it was grouped in
    story_id: int
    event_id: int
    title: str
    text: str
    language: str | None
    published: datetime  # published, else first seen
    outlet: str
    encoder: str | None
    vector: bytes | None


def grouped_since(session: Session, after: int, not_before: datetime,
                  limit: int = BATCH) -> list[GroupedStory]:
    """Stories grouped after ``story_vectors.id`` ``after`` whose time (published, else first
    seen) is at or after ``not_before``, in the order they were grouped."""
    when = or_(Story.published >= not_before,
               and_(Story.published.is_(None), Story.first_seen >= not_before))
    rows = session.execute(
        select(StoryVector.id, Story.id, Story.event_id, Story.title, Revision.text,
               Story.language, Story.published, Story.first_seen, Outlet.name,
               StoryVector.encoder, StoryVector.vector)
        .join(Story, Story.id == StoryVector.story_id)
        .join(Revision, Revision.id == Story.latest_revision_id)
        .join(Outlet, Outlet.id == Story.outlet_id)
        .where(StoryVector.id > after, Story.event_id.is_not(None), when)
        .order_by(StoryVector.id).limit(limit)
    ).all()
    return [GroupedStory(seq, sid, eid, title or "", body or "", lang, published or first_seen,
                         outlet, encoder, vector)
            for seq, sid, eid, title, body, lang, published, first_seen, outlet, encoder, vector
            in rows]


# The statements of every new story's grouping, built once (Core on the session's connection:
# no ORM unit of work; the story object in the session is kept in step by hand, _grouped)
_V, _E, _S = StoryVector.__table__, Event.__table__, Story.__table__
_GROUPED_AFTER = (select(_V.c.id, _V.c.story_id).where(_V.c.id > bindparam("after"))
                  .order_by(_V.c.id).limit(bindparam("limit")))
_WAS_GROUPED = select(_V.c.id).where(_V.c.story_id == bindparam("story_id"))
_NEW_EVENT = insert(_E).returning(_E.c.id)
_SET_EVENT = (update(_S).where(_S.c.id == bindparam("story"))
              .values(event_id=bindparam("event"), event_score=bindparam("score")))
_NEW_VECTOR = insert(_V)


def grouped_after(session: Session, after: int, limit: int = BATCH) -> list[tuple[int, int]]:
    """``(story_vectors.id, story id)`` of the stories grouped after ``after``, in order: the
    cheap look before ``grouped_since`` (a process that grouped them all itself needs no more)."""
    rows = session.connection().execute(_GROUPED_AFTER, {"after": after, "limit": limit})
    return [(seq, story_id) for seq, story_id in rows]


def was_grouped(session: Session, story_id: int) -> bool:
    """Whether the story's grouping is stored (its transaction committed)."""
    return session.connection().execute(_WAS_GROUPED, {"story_id": story_id}).first() is not None


def latest_grouped(session: Session) -> int:
    """The highest ``story_vectors.id`` (0 when nothing was grouped)."""
    return session.scalar(select(StoryVector.id).order_by(StoryVector.id.desc()).limit(1)) or 0


def create_event(session: Session, story_id: int, *, title: str, at: datetime,
                 language: str | None, outlet: str, grouping: str,
                 encoder: str | None, vector: bytes | None) -> int:
    """A new event started by the story; sets ``stories.event_id``; returns the event id."""
    event_id: int = session.connection().execute(_NEW_EVENT, {
        "first_story_id": story_id, "title": title, "started_at": at, "last_story_at": at,
        "story_count": 1, "languages": [language] if language else [], "outlets": [outlet],
        "grouping": grouping}).scalar_one()
    _grouped(session, story_id, event_id, None, encoder, vector)
    return event_id


def join_event(session: Session, story_id: int, event_id: int, *, score: float,
               at: datetime, language: str | None, outlet: str,
               encoder: str | None, vector: bytes | None) -> None:
    """The story joins an event: its counts, languages, outlets and latest time follow."""
    event = session.get(Event, event_id)
    if event is None:
        raise ValueError(f"unknown event {event_id}")
    event.story_count += 1
    event.last_story_at = max(event.last_story_at, at)
    if language and language not in event.languages:
        event.languages = [*event.languages, language]
    if outlet not in event.outlets:
        event.outlets = [*event.outlets, outlet]
    _grouped(session, story_id, event_id, score, encoder, vector)


def _grouped(session: Session, story_id: int, event_id: int, score: float | None,
             encoder: str | None, vector: bytes | None) -> None:
    session.flush()  # what the session holds goes first (a joined event's counts)
    connection = session.connection()
    connection.execute(_SET_EVENT, {"story": story_id, "event": event_id, "score": score})
    connection.execute(_NEW_VECTOR, {"story_id": story_id, "encoder": encoder, "vector": vector})
    story = session.identity_map.get(session.identity_key(Story, story_id))
    if story is not None:  # the hooks after this one (plan_alerts) read it from the session
        set_committed_value(story, "event_id", event_id)
        set_committed_value(story, "event_score", score)


def set_story_entities(session: Session, story_id: int, entities: Iterable[str]) -> None:
    """Replace the story's entities (direct hits) with ``entities``."""
    session.execute(delete(StoryEntity).where(StoryEntity.story_id == story_id))
    add_story_entities(session, story_id, entities)


def add_story_entities(session: Session, story_id: int, entities: Iterable[str]) -> None:
    session.add_all(StoryEntity(story_id=story_id, entity=e) for e in sorted(set(entities)))
    session.flush()


def story_entities(session: Session, story_id: int) -> list[str]:
    """The entities (direct hits) stored for a story, sorted."""
    return list(session.scalars(select(StoryEntity.entity)
                                .where(StoryEntity.story_id == story_id)
                                .order_by(StoryEntity.entity)))


def story_event(session: Session, story_id: int) -> Event | None:
    """The story's event, or None (not grouped)."""
    event_id = session.scalar(select(Story.event_id).where(Story.id == story_id))
    return session.get(Event, event_id) if event_id is not None else None
