"""The repository: records articles and decides a story's identity (URL, exact, near-duplicate).

Identity rules, applied in one transaction per article:

1. URL known: same text, or a text that differs only in whitespace / punctuation ->
   "unchanged" (nothing written); otherwise a new revision -> "changed".
2. URL unknown, exact content hash stored -> the URL joins that story -> "duplicate".
3. URL unknown, a story within SimHash distance NEAR_DUPLICATE_DISTANCE (or a candidate up to
   VERIFY_DISTANCE whose shingles overlap >= MIN_OVERLAP) -> the URL joins it -> "duplicate".
4. Otherwise a new story with its first revision -> "new".

Concurrent writers: SQLite write transactions take the write lock up front (BEGIN IMMEDIATE);
on PostgreSQL an advisory lock serialises the "is this text already stored?" decision. The
global unique content hash and unique URL back both up: on IntegrityError the transaction is
rolled back and retried once, and then sees the other writer's story.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.fingerprint import (
    MIN_OVERLAP,
    NEAR_DUPLICATE_DISTANCE,
    VERIFY_DISTANCE,
    Fingerprint,
    distance,
    fingerprint,
    overlap,
    shingles,
    significant,
)
from storage.models import (
    Alert,
    CrawlRun,
    Outlet,
    PageValidator,
    Revision,
    Story,
    StorySimhashBand,
    StoryUrl,
)
from storage.sqlite import IMMEDIATE
from storage.types import utcnow

Outcome = Literal["new", "changed", "unchanged", "duplicate"]
PlanAlerts = Callable[[Session, Story, Revision, str], None]
_PG_IDENTITY_LOCK = 0x73746F72  # "stor": pg_advisory_xact_lock key for identity decisions
_MAX_VERIFY = 5  # candidates whose text is compared when no SimHash is within distance 3


class ArticleLike(Protocol):
    title: str
    text: str
    published: datetime | None
    author: str | None
    language: str | None


@dataclass(frozen=True)
class RecordResult:
    story_id: int
    revision_id: int
    outcome: Outcome


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} is a naive datetime ({value.isoformat()}): pass an aware one")


class Store:
    """All reads and writes of stories, revisions, validators and crawl runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )

    # -- sessions -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction (committed on success, rolled back on error)."""
        with self._write.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction."""
        with self._read.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- outlets ------------------------------------------------------------------------------

    def _insert(self, session: Session, model: type) -> Any:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        return dialect.insert(model)

    def _outlet_id(self, session: Session, name: str) -> int:
        outlet_id = session.scalar(select(Outlet.id).where(Outlet.name == name))
        if outlet_id is None:
            stmt = self._insert(session, Outlet).values(name=name, created_at=utcnow())
            session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
            outlet_id = session.scalar(select(Outlet.id).where(Outlet.name == name))
        return outlet_id

    def ensure_outlets(self, names: Iterable[str]) -> dict[str, int]:
        """Create missing outlets; returns name -> id."""
        wanted = list(dict.fromkeys(names))
        for name in wanted:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"bad outlet name {name!r}: expected a non-empty string")
        with self.transaction() as session:
            return {name: self._outlet_id(session, name) for name in wanted}

    # -- recording ----------------------------------------------------------------------------

    def record_article(
        self,
        outlet: str,
        url: str,
        article: ArticleLike,
        fetched_at: datetime,
        plan_alerts: PlanAlerts | None = None,
    ) -> RecordResult:
        """Store one fetched article and say what it was (see the module docstring).

        ``plan_alerts(session, story, revision, outcome)`` runs in the same transaction for every
        outcome but "unchanged"; what it adds commits or rolls back with the story.
        """
        if not outlet:
            raise ValueError(f"bad outlet {outlet!r}: expected a non-empty name")
        if not url:
            raise ValueError(f"bad url {url!r} for outlet {outlet}: expected a non-empty URL")
        _check_aware("fetched_at", fetched_at)
        _check_aware(f"published of {url}", article.published)
        body = article.text or ""
        if not isinstance(body, str):
            raise TypeError(f"article text of {url} is {type(body).__name__}, expected str")
        fp = fingerprint(body)

        with self.reading() as session:  # cheap path: nothing to write
            found = self._unchanged(session, url, fp)
        if found is not None:
            return found

        for attempt in (1, 2):
            try:
                with self.transaction() as session:
                    return self._record(session, outlet, url, article, fetched_at, fp, plan_alerts)
            except IntegrityError:  # another process stored this URL or text first
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _unchanged(self, session: Session, url: str, fp: Fingerprint) -> RecordResult | None:
        row = session.execute(
            select(Revision.id, Revision.story_id, Revision.content_hash, Revision.text)
            .join(Story, Story.latest_revision_id == Revision.id)
            .join(StoryUrl, StoryUrl.story_id == Story.id)
            .where(StoryUrl.url == url)
        ).first()
        if row is None:
            return None
        if row.content_hash == fp.content_hash or significant(row.text) == fp.significant:
            return RecordResult(row.story_id, row.id, "unchanged")
        return None

    def _record(
        self,
        session: Session,
        outlet: str,
        url: str,
        article: ArticleLike,
        fetched_at: datetime,
        fp: Fingerprint,
        plan_alerts: PlanAlerts | None,
    ) -> RecordResult:
        outlet_id = self._outlet_id(session, outlet)
        story_url = session.scalar(select(StoryUrl).where(StoryUrl.url == url))
        if story_url is None and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_IDENTITY_LOCK})
            story_url = session.scalar(select(StoryUrl).where(StoryUrl.url == url))

        outcome: Outcome
        same_text = session.scalar(select(Revision).where(Revision.content_hash == fp.content_hash))
        if story_url is not None:
            story = session.get_one(Story, story_url.story_id)
            latest = session.get_one(Revision, story.latest_revision_id)
            if latest.content_hash == fp.content_hash or significant(latest.text) == fp.significant:
                return RecordResult(story.id, latest.id, "unchanged")
            if same_text is None:
                revision = self._add_revision(session, story, article, fetched_at, fp)
                outcome = "changed"
            elif same_text.story_id == story.id:  # back to an earlier text of this story
                revision = same_text
                self._set_latest(session, story, revision, article, fetched_at, fp)
                outcome = "changed"
            else:  # the page now carries another story's text: report that story
                story = session.get_one(Story, same_text.story_id)
                revision = same_text
                outcome = "duplicate"
        elif same_text is not None:
            story = session.get_one(Story, same_text.story_id)
            revision = same_text
            self._add_url(session, story, url, outlet_id, fetched_at)
            outcome = "duplicate"
        elif (near := self._near_duplicate(session, fp)) is not None:
            story = near
            revision = session.get_one(Revision, story.latest_revision_id)
            self._add_url(session, story, url, outlet_id, fetched_at)
            outcome = "duplicate"
        else:
            story = Story(
                outlet_id=outlet_id,
                title=article.title or "",
                first_seen=fetched_at,
                last_changed=fetched_at,
            )
            session.add(story)
            session.flush()
            revision = self._add_revision(session, story, article, fetched_at, fp)
            self._add_url(session, story, url, outlet_id, fetched_at)
            outcome = "new"
        session.flush()
        if plan_alerts is not None:
            plan_alerts(session, story, revision, outcome)
            session.flush()
        return RecordResult(story.id, revision.id, outcome)

    def _add_url(
        self, session: Session, story: Story, url: str, outlet_id: int, fetched_at: datetime
    ) -> None:
        session.add(
            StoryUrl(
                url=url,
                story_id=story.id,
                outlet_id=outlet_id,
                first_seen=fetched_at,
                last_fetched_at=fetched_at,
            )
        )

    def _add_revision(
        self,
        session: Session,
        story: Story,
        article: ArticleLike,
        fetched_at: datetime,
        fp: Fingerprint,
    ) -> Revision:
        revision = Revision(
            story_id=story.id,
            content_hash=fp.content_hash,
            text=article.text or "",
            title=article.title or "",
            first_seen=fetched_at,
        )
        session.add(revision)
        session.flush()
        self._set_latest(session, story, revision, article, fetched_at, fp)
        return revision

    def _set_latest(
        self,
        session: Session,
        story: Story,
        revision: Revision,
        article: ArticleLike,
        fetched_at: datetime,
        fp: Fingerprint,
    ) -> None:
        story.latest_revision_id = revision.id
        story.last_changed = fetched_at
        story.simhash = fp.simhash
        story.title = article.title or story.title
        story.author = article.author or story.author
        story.published = article.published or story.published
        story.language = article.language or story.language
        if fp.keys:
            have = {
                (band, value)
                for band, value in session.execute(
                    select(StorySimhashBand.band, StorySimhashBand.value).where(
                        StorySimhashBand.story_id == story.id
                    )
                )
            }
            session.add_all(
                StorySimhashBand(story_id=story.id, band=band, value=value, simhash=fp.simhash)
                for band, value in fp.keys
                if (band, value) not in have
            )

    def _near_duplicate(self, session: Session, fp: Fingerprint) -> Story | None:
        if not fp.keys:
            return None
        band = StorySimhashBand
        rows = session.execute(
            select(band.story_id, band.simhash).where(
                or_(*(and_(band.band == b, band.value == v) for b, v in fp.keys))
            )
        ).all()
        best: dict[int, int] = {}
        for story_id, value in rows:
            d = distance(value, fp.simhash)
            best[story_id] = min(d, best.get(story_id, d))
        ranked = sorted((d, story_id) for story_id, d in best.items() if d <= VERIFY_DISTANCE)
        if not ranked:
            return None
        if ranked[0][0] <= NEAR_DUPLICATE_DISTANCE:
            return session.get_one(Story, ranked[0][1])
        ids = [story_id for _, story_id in ranked[:_MAX_VERIFY]]
        texts = session.execute(
            select(Story.id, Revision.text)
            .join(Revision, Revision.id == Story.latest_revision_id)
            .where(Story.id.in_(ids))
        ).all()
        scored = sorted(
            ((overlap(fp.shingles, shingles(t)), -sid) for sid, t in texts), reverse=True
        )
        if scored and scored[0][0] >= MIN_OVERLAP:
            return session.get_one(Story, -scored[0][1])
        return None

    # -- validators ---------------------------------------------------------------------------

    def validators_for(self, outlet: str) -> dict[str, tuple[str | None, str | None]]:
        """url -> (etag, last_modified) of the outlet's URLs that have any validator."""
        result: dict[str, tuple[str | None, str | None]] = {}
        with self.reading() as session:
            for model in (PageValidator, StoryUrl):  # story URLs win over page rows
                rows = session.execute(
                    select(model.url, model.etag, model.last_modified)
                    .join(Outlet, Outlet.id == model.outlet_id)
                    .where(Outlet.name == outlet)
                    .where(or_(model.etag.is_not(None), model.last_modified.is_not(None)))
                )
                for url, etag, last_modified in rows:
                    result[url] = (etag, last_modified)
        return result

    def save_validators(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        *,
        outlet: str | None = None,
        fetched_at: datetime | None = None,
    ) -> None:
        """Remember a URL's ETag / Last-Modified and mark it fetched now (or at fetched_at).

        Story URLs are updated in place; other URLs (start pages, feeds) are kept only when
        ``outlet`` is given.
        """
        _check_aware("fetched_at", fetched_at)
        when = fetched_at or utcnow()
        with self.transaction() as session:
            story_url_id = session.scalar(select(StoryUrl.id).where(StoryUrl.url == url))
            if story_url_id is not None:
                session.execute(
                    update(StoryUrl)
                    .where(StoryUrl.id == story_url_id)
                    .values(etag=etag, last_modified=last_modified, last_fetched_at=when)
                )
                return
            if outlet is None:
                return
            values = {"etag": etag, "last_modified": last_modified, "last_fetched_at": when}
            stmt = self._insert(session, PageValidator).values(
                url=url, outlet_id=self._outlet_id(session, outlet), **values
            )
            session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=values))

    # -- crawl runs ---------------------------------------------------------------------------

    def start_run(self, outlets: list[str]) -> int:
        """Open a crawl run row; returns its id."""
        with self.transaction() as session:
            run = CrawlRun(started_at=utcnow(), outlets=list(outlets))
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, stats: dict[str, Any]) -> None:
        """Close a crawl run with its per-outlet stats (counts, errors); JSON-serialisable."""
        with self.transaction() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise ValueError(f"unknown crawl run id {run_id}")
            run.ended_at = utcnow()
            run.stats = stats

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """A crawl run as a dict (id, started_at, ended_at, outlets, stats), or None."""
        with self.reading() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                return None
            return {
                "id": run.id,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "outlets": run.outlets,
                "stats": run.stats,
            }

    # -- reading ------------------------------------------------------------------------------

    def list_stories(
        self, outlet: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Stories, newest first. ``outlet``: carried by that outlet (any of its URLs);
        ``since``: changed (or first seen) at or after that time."""
        _check_aware("since", since)
        ids = select(Story.id)
        if outlet is not None:
            ids = ids.where(
                Story.id.in_(
                    select(StoryUrl.story_id)
                    .join(Outlet, Outlet.id == StoryUrl.outlet_id)
                    .where(Outlet.name == outlet)
                )
            )
        if since is not None:
            ids = ids.where(Story.last_changed >= since)
        with self.reading() as session:
            stories = session.scalars(
                select(Story)
                .where(Story.id.in_(ids))
                .order_by(Story.first_seen.desc(), Story.id.desc())
            ).all()
            urls: dict[int, list[tuple[str, str]]] = {}
            for story_id, url, name in session.execute(
                select(StoryUrl.story_id, StoryUrl.url, Outlet.name)
                .join(Outlet, Outlet.id == StoryUrl.outlet_id)
                .where(StoryUrl.story_id.in_(ids))
                .order_by(StoryUrl.first_seen, StoryUrl.id)
            ):
                urls.setdefault(story_id, []).append((url, name))
            counts: dict[int, int] = {
                story_id: n
                for story_id, n in session.execute(
                    select(Revision.story_id, func.count())
                    .where(Revision.story_id.in_(ids))
                    .group_by(Revision.story_id)
                )
            }
            latest = {
                r.story_id: r
                for r in session.execute(
                    select(Revision.story_id, Revision.content_hash, Revision.text)
                    .join(Story, Story.latest_revision_id == Revision.id)
                    .where(Story.id.in_(ids))
                )
            }
        result = []
        for story in stories:
            story_urls = urls.get(story.id, [])
            rev = latest.get(story.id)
            result.append(
                {
                    "id": story.id,
                    "outlet": story.outlet.name,
                    "title": story.title,
                    "url": story_urls[0][0] if story_urls else None,
                    "urls": [u for u, _ in story_urls],
                    "outlets": list(dict.fromkeys(name for _, name in story_urls)),
                    "published": story.published,
                    "author": story.author,
                    "language": story.language,
                    "first_seen": story.first_seen,
                    "last_changed": story.last_changed,
                    "revisions": counts.get(story.id, 0),
                    "content_hash": rev.content_hash if rev else None,
                    "text": rev.text if rev else None,
                }
            )
        return result

    def story_revisions(self, story_id: int) -> list[dict[str, Any]]:
        """A story's revisions, oldest first: id, content_hash, title, text, first_seen."""
        with self.reading() as session:
            rows = session.scalars(
                select(Revision).where(Revision.story_id == story_id).order_by(Revision.id)
            ).all()
        return [
            {
                "id": r.id,
                "content_hash": r.content_hash,
                "title": r.title,
                "text": r.text,
                "first_seen": r.first_seen,
            }
            for r in rows
        ]

    def list_alerts(self, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The alert ledger, newest first: id, story_id, revision_id, watch, channel, event,
        status, attempts, next_attempt_at, last_error, created_at, sent_at, title."""
        query = select(Alert).order_by(Alert.id.desc()).limit(limit)
        if status:
            query = query.where(Alert.status == status)
        with self.reading() as session:
            rows = session.scalars(query).all()
            return [
                {
                    "id": a.id, "story_id": a.story_id, "revision_id": a.revision_id,
                    "watch": a.watch, "channel": a.channel, "event": a.event,
                    "status": a.status, "attempts": a.attempts,
                    "next_attempt_at": a.next_attempt_at, "last_error": a.last_error,
                    "created_at": a.created_at, "sent_at": a.sent_at,
                    "title": (a.payload or {}).get("story", {}).get("title"),
                }
                for a in rows
            ]
