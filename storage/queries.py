"""Reading the store for people: stories filtered, searched and paged, one story in full,
outlets' health, watches' matches, the alert ledger.

Every function takes a read session (``store.reading()``) and returns plain dicts whose field
names are those of ``newswatch stories --json`` (``story_rows``), so the CLI, the JSON API, the
pages and the feeds show the same thing. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from newswatch.storage.models import (
    Alert,
    CrawlRun,
    Event,
    Match,
    Outlet,
    Revision,
    SchedulerStateRow,
    Story,
    StoryEntity,
    StoryUrl,
)
from newswatch.storage.search import (
    Check,
    phrase_check,
    story_candidates,
    story_check,
    story_matches,
)

__all__ = ["ALERT_STATUSES", "KINDS", "Page", "StoryFilter", "alert_page", "entity_pairs",
           "event_members", "event_page", "find_stories", "latest_revisions", "outlet_names",
           "outlet_health", "story_detail", "story_rows", "watch_matches"]

KINDS = ("new", "updated")
ALERT_STATUSES = ("pending", "sent", "failed")
RUNS_SCANNED = 2000  # crawl runs read back to find each outlet's last one
COUNT_LIMIT = 1000  # find_stories counts matches exactly up to this many
WALK = 4  # find_stories walks this many times the stories it wants before reading candidates


@dataclass(frozen=True)
class StoryFilter:
    """What ``/`` and ``/api/stories`` filter by. ``kind``: "new" (never changed since first
    seen) or "updated"; ``since`` / ``until``: last change in [since, until)."""

    q: str | None = None
    outlet: str | None = None
    watch: str | None = None
    kind: Literal["new", "updated"] | None = None
    since: datetime | None = None
    until: datetime | None = None
    # mentions any of these entity ids (the caller expands an entity to its descendants)
    entities: tuple[str, ...] = ()
    event: int | None = None  # belongs to this news event

    def conditions(self, session: Session, exact: bool = True) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions on ``Story`` (``session``: the database they run on).
        ``exact=False``: the search as its candidates only (``search.story_candidates``), the
        rest left to ``check``."""
        conds: list[ColumnElement[bool]] = []
        if self.q and self.q.strip():
            match = story_matches if exact else story_candidates
            conds.append(match(session, Story.id, self.q))
        if self.outlet:
            conds.append(Story.id.in_(_outlet_story_ids(self.outlet)))
        if self.watch:
            conds.append(Story.id.in_(select(Match.story_id).where(Match.watch == self.watch)))
        if self.kind == "new":
            conds.append(Story.last_changed <= Story.first_seen)
        elif self.kind == "updated":
            conds.append(Story.last_changed > Story.first_seen)
        if self.since is not None:
            conds.append(Story.last_changed >= self.since)
        if self.until is not None:
            conds.append(Story.last_changed < self.until)
        if self.entities:
            conds.append(Story.id.in_(select(StoryEntity.story_id)
                                      .where(StoryEntity.entity.in_(self.entities))))
        if self.event is not None:
            conds.append(Story.event_id == self.event)
        return conds

    def check(self, session: Session) -> Check | None:
        """What ``conditions(session, exact=False)`` leaves to check per story
        (``search.phrase_check``), None when nothing."""
        if self.q and self.q.strip():
            return phrase_check(session, self.q)
        return None

    def walk(self, session: Session) -> tuple[list[ColumnElement[bool]], Check] | None:
        """The filter as conditions without the search and the search as a check per story
        (``search.story_check``), for walking the stories; None when there is no such check."""
        if self.q and self.q.strip():
            check = story_check(session, self.q)
            if check is not None:
                return replace(self, q=None).conditions(session), check
        return None


@dataclass
class Page:
    """One page of results: ``items`` and where they sit in the whole."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    extra: dict[str, Any] = field(default_factory=dict)
    exact: bool = True  # False: there are more than ``total``
    # find_stories(facet_stories=n): (story id, entity id) of the latest n matching stories
    entity_pairs: list[tuple[int, str]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """The number of pages (when not ``exact``: at least one past this full page)."""
        pages = max(1, -(-self.total // self.per_page))
        if not self.exact and len(self.items) == self.per_page:
            pages = max(pages, self.page + 1)
        return pages


def _paging(page: int, per_page: int) -> tuple[int, int]:
    page = max(1, int(page))
    per_page = max(1, int(per_page))
    return page, per_page


def _outlet_story_ids(outlet: str) -> Any:
    return (select(StoryUrl.story_id).join(Outlet, Outlet.id == StoryUrl.outlet_id)
            .where(Outlet.name == outlet))


def find_stories(session: Session, flt: StoryFilter, page: int = 1, per_page: int = 50,
                 count_limit: int = COUNT_LIMIT, facet_stories: int = 0) -> Page:
    """Stories matching ``flt``, newest change first, one page of them (``story_rows``).

    ``total`` is exact up to ``count_limit`` matches; beyond, it is ``count_limit`` and
    ``exact`` is False (counting every story holding a word as common as 模型 would cost more
    than the page itself: the page stops after its rows, the count after ``count_limit``).
    ``facet_stories``: also the (story id, entity id) pairs of the latest this many matching
    stories, in ``entity_pairs`` (what entity facets count over).

    The latest matches are read once, newest first, as far as the count, the facets and the
    page need (``count_limit`` + 1 at most when the page lies within): the page, the count and
    the facets come from that one query, which stops after its rows.

    A search on PostgreSQL: that query first walks the latest ``WALK`` times as many stories
    as it wants, newest first, and checks each (``StoryFilter.walk``): enough for a common
    word, and its cost does not depend on how many stories hold the word. When they hold
    fewer, it reads the candidates the index finds and checks the phrases on them newest
    first (``StoryFilter.check``), as far as it reads."""
    page, per_page = _paging(page, per_page)
    conds = flt.conditions(session, exact=False)
    check = flt.check(session)
    end = page * per_page
    head = max(facet_stories, count_limit if conds else 0)  # the latest matches read at once
    latest: list[int] | None = None
    pairs: list[tuple[int, str]] = []
    if end <= head:
        walk = flt.walk(session)
        if walk is not None:
            latest, pairs = _latest_ids(session, walk[0], head + 1, facet_stories, walk[1],
                                        WALK * (head + 1))
            if len(latest) <= head:  # fewer in the window: the candidates, to the end
                latest = None
        if latest is None:
            latest, pairs = _latest_ids(session, conds, head + 1, facet_stories, check)
        ids = latest[end - per_page:end]
    else:  # a page past them: its own query
        ids = list(session.scalars(_latest(conds, per_page, end - per_page, check=check)))
        if facet_stories:
            pairs = _latest_ids(session, conds, facet_stories, facet_stories, check)[1]
    rows = story_rows(session, ids)
    if not conds:
        total = session.scalar(select(func.count()).select_from(Story)) or 0
        return Page(rows, total, page, per_page, entity_pairs=pairs)
    limit = max(count_limit, end) + 1
    if latest is not None:  # every match when fewer than head + 1, else at least limit
        total = min(len(latest), limit)
    else:
        total = session.scalar(select(func.count()).select_from(
            _latest(conds, limit, check=check).subquery())) or 0
    if total >= limit:
        return Page(rows, limit - 1, page, per_page, exact=False, entity_pairs=pairs)
    return Page(rows, total, page, per_page, entity_pairs=pairs)


def _latest(conds: Sequence[ColumnElement[bool]], limit: int, offset: int = 0,
            *columns: Any, check: Check | None = None, window: int | None = None,
            ) -> Select[Any]:
    """The ids (and ``columns``) of stories matching ``conds`` (and ``check``), newest change
    first; ``window``: among the latest this many matching ``conds`` only.

    ``check`` is applied to the stories ``conds`` keep, sorted, one at a time until the limit:
    they are sorted in a subquery (``LIMIT window`` or ``OFFSET 0``) that PostgreSQL plans as
    a node of its own and the check filters its rows as they come; PostgreSQL moves no
    condition into a subquery with a limit or an offset (nor one holding a subquery, as
    ``check`` does), so the check is not run on them all before sorting."""
    if check is None:
        query = (select(Story.id, *columns).where(*conds)
                 .order_by(Story.last_changed.desc(), Story.id.desc()).limit(limit))
        return query.offset(offset) if offset else query
    keys = [c.key for c in columns]
    inner = (select(Story.id, Story.last_changed,
                    *(c for c in columns if c.key not in ("id", "last_changed")))
             .where(*conds).order_by(Story.last_changed.desc(), Story.id.desc()))
    walk = (inner.limit(window) if window is not None else inner.offset(0)).subquery()
    query = (select(walk.c.id, *(walk.c[k] for k in keys)).where(check(walk.c.id))
             .order_by(walk.c.last_changed.desc(), walk.c.id.desc()).limit(limit))
    return query.offset(offset) if offset else query


def _latest_ids(session: Session, conds: Sequence[ColumnElement[bool]], limit: int,
                facet_stories: int, check: Check | None = None, window: int | None = None,
                ) -> tuple[list[int], list[tuple[int, str]]]:
    """The ids of the latest ``limit`` stories matching ``conds`` (newest change first) and
    the (story id, entity id) pairs of the first ``facet_stories`` of them (sorted), in one
    query: those stories left-joined with their entities."""
    conn = session.connection()  # Core rows: no ORM loading
    if not facet_stories:
        return list(conn.scalars(_latest(conds, limit, check=check, window=window))), []
    latest = _latest(conds, limit, 0, Story.last_changed, check=check,
                     window=window).subquery()
    ids: list[int] = []
    pairs: list[tuple[int, str]] = []
    for story_id, entity in conn.execute(
        select(latest.c.id, StoryEntity.entity)
        .outerjoin(StoryEntity, StoryEntity.story_id == latest.c.id)
        .order_by(latest.c.last_changed.desc(), latest.c.id.desc())
    ):
        if not ids or ids[-1] != story_id:
            ids.append(story_id)
        if entity is not None and len(ids) <= facet_stories:
            pairs.append((story_id, entity))
    return ids, sorted(pairs)


# story_rows' statements, built once (``ids``: the stories wanted)
_IDS = bindparam("ids", expanding=True)
_EVERY_REVISION = aliased(Revision)
_STORY_FIELDS = (
    select(Story.id, Outlet.name, Story.title, Story.published, Story.author, Story.language,
           Story.first_seen, Story.last_changed, Story.event_id, Revision.content_hash,
           Revision.text,
           select(func.count()).where(_EVERY_REVISION.story_id == Story.id).correlate(Story)
           .scalar_subquery().label("revisions"))
    .join(Outlet, Outlet.id == Story.outlet_id)
    .outerjoin(Revision, Revision.id == Story.latest_revision_id)  # the latest
    .where(Story.id.in_(_IDS)))
_STORY_URLS = (select(StoryUrl.story_id, StoryUrl.url, Outlet.name)
               .join(Outlet, Outlet.id == StoryUrl.outlet_id).where(StoryUrl.story_id.in_(_IDS))
               .order_by(StoryUrl.first_seen, StoryUrl.id))
_STORY_WATCHES = (select(Match.story_id, Match.watch).where(Match.story_id.in_(_IDS))
                  .group_by(Match.story_id, Match.watch).order_by(Match.watch))
_STORY_ENTITIES = (select(StoryEntity.story_id, StoryEntity.entity)
                   .where(StoryEntity.story_id.in_(_IDS))
                   .order_by(StoryEntity.story_id, StoryEntity.entity))


def story_rows(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The stories with these ids, in this order, as ``newswatch stories --json`` prints them:
    id, outlet (first sighting), title, url, urls, outlets (every copy's), published, author,
    language, first_seen, last_changed, revisions (count), content_hash and text (latest
    revision), watches (names of the watches any revision matched), event_id (its news
    event, None when not grouped) and entities (the entity ids it mentions, direct hits)."""
    if not ids:
        return []
    wanted = list(ids)
    conn = session.connection()  # Core rows: no ORM loading
    stories = {r.id: r for r in conn.execute(_STORY_FIELDS, {"ids": wanted})}
    urls: dict[int, list[tuple[str, str]]] = {}
    for story_id, url, name in conn.execute(_STORY_URLS, {"ids": wanted}):
        urls.setdefault(story_id, []).append((url, name))
    watches: dict[int, list[str]] = {}
    for story_id, watch in conn.execute(_STORY_WATCHES, {"ids": wanted}):
        watches.setdefault(story_id, []).append(watch)
    entities: dict[int, list[str]] = {}
    for story_id, entity in conn.execute(_STORY_ENTITIES, {"ids": wanted}):
        entities.setdefault(story_id, []).append(entity)
    rows = []
    for story_id in wanted:
        story = stories.get(story_id)
        if story is None:
            continue
        story_urls = urls.get(story_id, [])
        rows.append({
            "id": story.id,
            "outlet": story.name,
            "title": story.title,
            "url": story_urls[0][0] if story_urls else None,
            "urls": [u for u, _ in story_urls],
            "outlets": list(dict.fromkeys(name for _, name in story_urls)),
            "published": story.published,
            "author": story.author,
            "language": story.language,
            "first_seen": story.first_seen,
            "last_changed": story.last_changed,
            "revisions": story.revisions,
            "content_hash": story.content_hash,
            "text": story.text,
            "watches": watches.get(story_id, []),
            "event_id": story.event_id,
            "entities": entities.get(story_id, []),
        })
    return rows


def entity_pairs(session: Session, story_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(story id, entity id) of these stories' stored entities (direct hits), sorted."""
    if not story_ids:
        return []
    return [(sid, e) for sid, e in session.connection().execute(
        _STORY_ENTITIES, {"ids": list(story_ids)})]


def event_members(session: Session, event_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each event's stories, first grouped first: id, title, language, outlet (first
    sighting), url (first), published, first_seen."""
    if not event_ids:
        return {}
    out: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(Story.event_id, Story.id, Story.title, Story.language, Outlet.name,
               Story.published, Story.first_seen)
        .join(Outlet, Outlet.id == Story.outlet_id)
        .where(Story.event_id.in_(list(event_ids))).order_by(Story.id)).all()
    first_url: dict[int, str] = {}
    for story_id, url in session.execute(
        select(StoryUrl.story_id, StoryUrl.url)
        .where(StoryUrl.story_id.in_([r[1] for r in rows]))
        .order_by(StoryUrl.first_seen.desc(), StoryUrl.id.desc())):
        first_url[story_id] = url
    for event_id, sid, title, language, outlet, published, first_seen in rows:
        out.setdefault(event_id, []).append({
            "id": sid, "title": title, "language": language, "outlet": outlet,
            "url": first_url.get(sid), "published": published, "first_seen": first_seen})
    return out


def event_page(session: Session, page: int = 1, per_page: int = 50,
               entities: Sequence[str] = ()) -> Page:
    """News events, latest story first: id, title, started_at, last_story_at, story_count,
    languages, outlets, grouping, stories (``event_members``) and entities (the entity ids
    any of its stories mentions); ``entities``: only events mentioning one of them."""
    page, per_page = _paging(page, per_page)
    conds = []
    if entities:
        conds.append(Event.id.in_(
            select(Story.event_id).join(StoryEntity, StoryEntity.story_id == Story.id)
            .where(StoryEntity.entity.in_(list(entities)))))
    total = session.scalar(select(func.count()).select_from(Event).where(*conds)) or 0
    events = session.scalars(select(Event).where(*conds)
                             .order_by(Event.last_story_at.desc(), Event.id.desc())
                             .limit(per_page).offset((page - 1) * per_page)).all()
    members = event_members(session, [e.id for e in events])
    mentioned: dict[int, set[str]] = {}
    story_event = {s["id"]: eid for eid, stories in members.items() for s in stories}
    for sid, entity in entity_pairs(session, list(story_event)):
        mentioned.setdefault(story_event[sid], set()).add(entity)
    items = [{"id": e.id, "title": e.title, "started_at": e.started_at,
              "last_story_at": e.last_story_at, "story_count": e.story_count,
              "languages": list(e.languages or []), "outlets": list(e.outlets or []),
              "grouping": e.grouping, "stories": members.get(e.id, []),
              "entities": sorted(mentioned.get(e.id, ()))} for e in events]
    return Page(items, total, page, per_page)


def story_detail(session: Session, story_id: int) -> dict[str, Any] | None:
    """One story in full: its ``story_rows`` fields plus ``locations`` (every URL with its
    outlet, first seen and last fetch), ``history`` (revisions oldest first: id, title, text,
    content_hash, first_seen), ``matches`` and ``alerts`` (the ledger rows for it)."""
    rows = story_rows(session, [story_id])
    if not rows:
        return None
    story = rows[0]
    story["locations"] = [
        {"url": url, "outlet": name, "first_seen": first_seen, "last_fetched_at": fetched}
        for url, name, first_seen, fetched in session.execute(
            select(StoryUrl.url, Outlet.name, StoryUrl.first_seen, StoryUrl.last_fetched_at)
            .join(Outlet, Outlet.id == StoryUrl.outlet_id)
            .where(StoryUrl.story_id == story_id).order_by(StoryUrl.first_seen, StoryUrl.id))
    ]
    story["history"] = [
        {"id": r.id, "title": r.title, "text": r.text, "content_hash": r.content_hash,
         "first_seen": r.first_seen}
        for r in session.scalars(
            select(Revision).where(Revision.story_id == story_id).order_by(Revision.id))
    ]
    story["matches"] = [
        {"watch": m.watch, "revision_id": m.revision_id, "terms": list(m.terms or []),
         "snippet": m.snippet, "created_at": m.created_at}
        for m in session.scalars(
            select(Match).where(Match.story_id == story_id).order_by(Match.id))
    ]
    story["alerts"] = [_alert_row(a) for a in session.scalars(
        select(Alert).where(Alert.story_id == story_id).order_by(Alert.id.desc()))]
    return story


def _alert_row(a: Alert) -> dict[str, Any]:
    """An alert as ``newswatch alerts --json`` prints it."""
    return {
        "id": a.id, "uid": a.uid, "story_id": a.story_id, "revision_id": a.revision_id,
        "watch": a.watch, "channel": a.channel, "event": a.event,
        "status": a.status, "attempts": a.attempts,
        "next_attempt_at": a.next_attempt_at, "last_error": a.last_error,
        "created_at": a.created_at, "sent_at": a.sent_at,
        "title": (a.payload or {}).get("story", {}).get("title"),
    }


def alert_page(session: Session, status: str | None = None, watch: str | None = None,
               page: int = 1, per_page: int = 50) -> Page:
    """The alert ledger, newest first, optionally one status or one watch; ``extra["counts"]``:
    how many alerts are in each status."""
    page, per_page = _paging(page, per_page)
    conds = []
    if status:
        conds.append(Alert.status == status)
    if watch:
        conds.append(Alert.watch == watch)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conds)) or 0
    rows = session.scalars(select(Alert).where(*conds).order_by(Alert.id.desc())
                           .limit(per_page).offset((page - 1) * per_page))
    counts = dict(session.execute(
        select(Alert.status, func.count()).group_by(Alert.status)).all())
    return Page([_alert_row(a) for a in rows], total, page, per_page,
                {"counts": {s: counts.get(s, 0) for s in ALERT_STATUSES}})


def watch_matches(session: Session, watch: str, limit: int = 10) -> tuple[int, list[dict[str, Any]]]:
    """(stories the watch matched, the latest ``limit`` of them: story id, title, terms,
    snippet, matched at)."""
    total = session.scalar(select(func.count(func.distinct(Match.story_id)))
                           .where(Match.watch == watch)) or 0
    rows = session.execute(
        select(Match.story_id, Story.title, Match.terms, Match.snippet, Match.created_at)
        .join(Story, Story.id == Match.story_id)
        .where(Match.watch == watch).order_by(Match.id.desc()).limit(limit * 3))
    seen: dict[int, dict[str, Any]] = {}
    for story_id, title, terms, snippet, created_at in rows:
        if story_id not in seen and len(seen) < limit:
            seen[story_id] = {"story_id": story_id, "title": title, "terms": list(terms or []),
                              "snippet": snippet, "matched_at": created_at}
    return total, list(seen.values())


def outlet_health(session: Session, names: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Per outlet (stored ones and ``names``): ``stories`` (URLs stored), ``last_new`` (when
    its latest new URL was first seen), ``browser_first`` (the render memory), ``run`` (its
    figures in the last crawl run that included it, with the run's ``started_at`` /
    ``ended_at``; None if never crawled) and ``schedule`` (the daemon's ``scheduler_state``:
    last_start, last_end, last_status, next_run; None if the daemon never ran it)."""
    health: dict[str, dict[str, Any]] = {
        name: {"outlet": name, "stories": 0, "last_new": None, "browser_first": False,
               "run": None, "schedule": None}
        for name in names
    }
    for name, browser_first, n, last_new in session.execute(
        select(Outlet.name, Outlet.browser_first, func.count(StoryUrl.id),
               func.max(StoryUrl.first_seen))
        .outerjoin(StoryUrl, StoryUrl.outlet_id == Outlet.id)
        .group_by(Outlet.id, Outlet.name, Outlet.browser_first)
    ):
        entry = health.setdefault(name, {"outlet": name, "run": None, "schedule": None})
        entry.update(stories=n, last_new=last_new, browser_first=bool(browser_first))
    missing = set(health)
    offset = 0
    while missing and offset < RUNS_SCANNED:
        runs = session.execute(
            select(CrawlRun.started_at, CrawlRun.ended_at, CrawlRun.stats)
            .where(CrawlRun.stats.is_not(None))
            .order_by(CrawlRun.id.desc()).limit(200).offset(offset)).all()
        if not runs:
            break
        offset += len(runs)
        for started_at, ended_at, stats in runs:
            for name in list(missing & set(stats or {})):
                health[name]["run"] = {**stats[name], "started_at": started_at,
                                       "ended_at": ended_at}
                missing.discard(name)
    for row in session.scalars(select(SchedulerStateRow)):
        if row.outlet in health:
            health[row.outlet]["schedule"] = {
                "last_start": row.last_start, "last_end": row.last_end,
                "last_status": row.last_status, "next_run": row.next_run}
    return health


def outlet_names(session: Session) -> list[str]:
    """Every stored outlet's name, sorted."""
    return list(session.scalars(select(Outlet.name).order_by(Outlet.name)))


def latest_revisions(session: Session, since: datetime | None = None, after: int = 0,
                     limit: int = 500) -> list[dict[str, Any]]:
    """Stories by id (``after`` the given id, ``limit`` of them), each as story_id,
    revision_id (latest), title, text and outlets (every copy's, first sighting first);
    ``since``: changed at or after. For going over every stored story in batches."""
    query = (select(Story.id, Story.latest_revision_id, Revision.title, Story.title,
                    Revision.text)
             .join(Revision, Revision.id == Story.latest_revision_id)
             .where(Story.id > after).order_by(Story.id).limit(limit))
    if since is not None:
        query = query.where(Story.last_changed >= since)
    rows = session.execute(query).all()
    outlets: dict[int, list[str]] = {}
    for story_id, name in session.execute(
        select(StoryUrl.story_id, Outlet.name).join(Outlet, Outlet.id == StoryUrl.outlet_id)
        .where(StoryUrl.story_id.in_([r[0] for r in rows]))
        .order_by(StoryUrl.first_seen, StoryUrl.id)
    ):
        if name not in outlets.setdefault(story_id, []):
            outlets[story_id].append(name)
    return [{"story_id": sid, "revision_id": rid, "title": rev_title or story_title or "",
             "text": text or "", "outlets": outlets.get(sid, [])}
            for sid, rid, rev_title, story_title, text in rows]
