"""The repository: records articles and decides a story's identity (URL, exact, near-duplicate).

Identity rules, applied in one transaction per article:

1. URL known: same text and title, or ones that differ only in whitespace, punctuation or case
   (``newswatch.text.change_key``) -> "unchanged" (nothing written); otherwise a new revision
   -> "changed" (a new title alone is a revision too).
2. URL unknown, exact content hash stored -> the URL joins that story -> "duplicate".
3. URL unknown, a story within SimHash distance NEAR_DUPLICATE_DISTANCE (or a candidate up to
   VERIFY_DISTANCE whose shingles overlap >= MIN_OVERLAP) -> the URL joins it -> "duplicate".
4. Otherwise a new story with its first revision -> "new".

Concurrent writers: SQLite write transactions take the write lock up front (BEGIN IMMEDIATE);
on PostgreSQL advisory locks keyed by what a new URL's decision looks up (the URL, the text's
hash, its SimHash band keys: ``identity.decision_keys``) serialise the "is this text already
stored?" decisions that could see each other; the others run side by side. The
global unique content hash and unique URL back both up: on IntegrityError the transaction is
rolled back and retried once, and then sees the other writer's story.

Cost (benchmarks/storage_write.py): on SQLite an unchanged page is one indexed SELECT outside
the write lock; on PostgreSQL the lookup runs in the write transaction (no table locks there),
saving a transaction. The decision and the writes are Core statements (storage/identity.py);
the plan_alerts hook gets ORM objects attached to a session on the same connection.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from newswatch.lifetime import process_alive
from newswatch.revisit import Visit
from newswatch.storage import identity, schedule
from newswatch.storage.fingerprint import Fingerprint
from newswatch.storage.fingerprint import fingerprint as _fingerprint
from newswatch.storage.identity import ArticleLike, Known, Outcome
from newswatch.storage.models import (
    RUN_STATUSES,
    CrawlRun,
    HostPace,
    Outlet,
    PageValidator,
    Revision,
    Story,
    StoryUrl,
)
from newswatch.storage.queries import alert_page, story_rows
from newswatch.storage.sqlite import IMMEDIATE
from newswatch.storage.types import utcnow

__all__ = ["ArticleLike", "Outcome", "PlanAlerts", "RecordResult", "Store"]

PlanAlerts = Callable[[Session, Story, Revision, str], None]
_STORY_URLS = StoryUrl.__table__


@dataclass(frozen=True)
class RecordResult:
    story_id: int
    revision_id: int
    outcome: Outcome


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} is a naive datetime ({value.isoformat()}): pass an aware one")


def _attach(session: Session, model: type[Any], values: dict[str, Any]) -> Any:
    """A persistent ORM object for a row whose values we know (no SELECT); columns not in
    ``values`` are expired, so they load on first access."""
    obj = model(**values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _update_validators(conn: Connection, url: str, etag: str | None,
                       last_modified: str | None, fetched_at: datetime) -> None:
    conn.execute(update(_STORY_URLS).where(_STORY_URLS.c.url == url).values(
        etag=etag, last_modified=last_modified, last_fetched_at=fetched_at))


class Store:
    """All reads and writes of stories, revisions, validators and crawl runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(**{IMMEDIATE: True})
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._sqlite = engine.dialect.name == "sqlite"
        self._outlet_ids: dict[str, int] = {}  # committed outlets: name -> id (never deleted)

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
            ids = {name: self._outlet_id(session, name) for name in wanted}
        self._outlet_ids.update(ids)
        return ids

    def outlet_names(self) -> list[str]:
        """Every outlet the database knows (crawled now or in the past), by name."""
        with self.reading() as session:
            return list(session.scalars(select(Outlet.name).order_by(Outlet.name)))

    def _outlet(self, name: str) -> int:
        """The outlet's id, created (in its own transaction) on first use; cached per Store."""
        outlet_id = self._outlet_ids.get(name)
        return outlet_id if outlet_id is not None else self.ensure_outlets([name])[name]

    # -- recording ----------------------------------------------------------------------------

    def record_article(
        self,
        outlet: str,
        url: str,
        article: ArticleLike,
        fetched_at: datetime,
        plan_alerts: PlanAlerts | None = None,
        *,
        fingerprint: Fingerprint | None = None,
        group: PlanAlerts | None = None,
        validators: tuple[str | None, str | None] | None = None,
        visit: Callable[[Outcome], Visit] | None = None,
        listed_at: datetime | None = None,
    ) -> RecordResult:
        """Store one fetched article and say what it was (see the module docstring).

        ``plan_alerts(session, story, revision, outcome)`` runs in the same transaction for every
        outcome but "unchanged"; what it adds commits or rolls back with the story.
        ``fingerprint``: ``storage.fingerprint.prepare(article.text)`` made elsewhere (e.g. in
        the extraction worker), so SimHash is not computed here; it must be of this text.
        ``group(session, story, revision, outcome)``: the same kind of hook, run first, for what
        sits a level above the story (events, entities; the crawl's grouping step): what it
        writes is there for ``plan_alerts`` and commits or rolls back with the story.
        ``validators``: the response's (ETag, Last-Modified), saved as ``save_validators``
        does, in the same transaction (one write transaction a page instead of two).
        ``visit(outcome)``: the URL's next visit once its outcome is known, saved as
        ``save_visit`` does (with ``validators`` and ``listed_at``), in the same transaction.
        """
        fp = self._check(outlet, url, article, fetched_at, fingerprint)
        outlet_id = self._outlet(outlet)
        checked: Known | None = None
        expect_new = False
        if self._sqlite:  # read first: an unchanged page never takes the write lock
            with self.engine.connect() as conn:
                checked = identity.lookup_url(conn, url)
                if checked is not None:
                    checked = identity.compared(conn, checked, fp)
                    if identity.unchanged(checked, article.title):
                        if visit is not None:
                            self.save_visit(url, visit("unchanged"), fetched_at=fetched_at,
                                            validators=validators, listed_at=listed_at)
                        elif validators is not None:
                            self.save_validators(url, *validators, fetched_at=fetched_at)
                        return RecordResult(checked.story_id, checked.revision_id, "unchanged")
            expect_new = checked is None
        for attempt in (1, 2):
            try:
                with self._write_engine.begin() as conn:
                    result = self._record(conn, outlet_id, url, article, fetched_at, fp,
                                          (group, plan_alerts), checked, expect_new)
                    if visit is not None:
                        schedule.save_visit(conn, url, visit(result.outcome), fetched_at,
                                            validators, listed_at)
                    elif validators is not None:
                        _update_validators(conn, url, *validators, fetched_at)
                    return result
            except IntegrityError:  # another process stored this URL or text first
                if attempt == 2:
                    raise
                checked, expect_new = None, False
        raise AssertionError("unreachable")

    def _check(self, outlet: str, url: str, article: ArticleLike, fetched_at: datetime,
               fingerprint: Fingerprint | None = None) -> Fingerprint:
        if not outlet:
            raise ValueError(f"bad outlet {outlet!r}: expected a non-empty name")
        if not url:
            raise ValueError(f"bad url {url!r} for outlet {outlet}: expected a non-empty URL")
        _check_aware("fetched_at", fetched_at)
        _check_aware(f"published of {url}", article.published)
        body = article.text or ""
        if not isinstance(body, str):
            raise TypeError(f"article text of {url} is {type(body).__name__}, expected str")
        if fingerprint is None:
            return _fingerprint(body)
        if not isinstance(fingerprint, Fingerprint) or fingerprint.text != body:
            raise ValueError(f"fingerprint given for {url} is not of its article text")
        return fingerprint

    def _record(
        self,
        conn: Connection,
        outlet_id: int,
        url: str,
        article: ArticleLike,
        fetched_at: datetime,
        fp: Fingerprint,
        hooks: tuple[PlanAlerts | None, ...],
        checked: Known | None,
        expect_new: bool,
    ) -> RecordResult:
        written = identity.record(conn, outlet_id=outlet_id, url=url, article=article,
                                  fetched_at=fetched_at, fp=fp, checked=checked,
                                  expect_new=expect_new)
        hooks = tuple(h for h in hooks if h is not None)
        if hooks and written.outcome != "unchanged":
            # the hooks get ORM objects in a session on this transaction; the values just
            # written are set on them, anything else loads on first access
            session = Session(bind=conn, expire_on_commit=False)
            try:
                story = _attach(session, Story, written.story)
                revision = _attach(session, Revision, written.revision)
                for hook in hooks:
                    hook(session, story, revision, written.outcome)
                    session.flush()
            finally:
                session.close()
        return RecordResult(written.story_id, written.revision_id, written.outcome)

    # -- validators ---------------------------------------------------------------------------

    def validators_for(self, outlet: str) -> dict[str, tuple[str | None, str | None]]:
        """url -> (etag, last_modified) of the outlet's story URLs that have any validator."""
        with self.reading() as session:
            rows = session.execute(
                select(StoryUrl.url, StoryUrl.etag, StoryUrl.last_modified)
                .join(Outlet, Outlet.id == StoryUrl.outlet_id)
                .where(Outlet.name == outlet)
                .where(or_(StoryUrl.etag.is_not(None), StoryUrl.last_modified.is_not(None)))
            )
            return {url: (etag, last_modified) for url, etag, last_modified in rows}

    def known_urls(self, outlet: str) -> set[str]:
        """Every story URL stored for the outlet (a crawl's "new" links are the others)."""
        with self.reading() as session:
            return set(session.scalars(
                select(StoryUrl.url).join(Outlet, Outlet.id == StoryUrl.outlet_id)
                .where(Outlet.name == outlet)))

    def save_validators(self, url: str, etag: str | None, last_modified: str | None, *,
                        fetched_at: datetime | None = None) -> None:
        """Remember a story URL's ETag / Last-Modified and mark it fetched now (or at
        fetched_at); a URL that carries no story is not kept."""
        _check_aware("fetched_at", fetched_at)
        with self._write_engine.begin() as conn:
            _update_validators(conn, url, etag, last_modified, fetched_at or utcnow())

    # -- the revisit schedule (storage/schedule.py) ------------------------------------------

    def due_articles(self, outlet: str, now: datetime, limit: int | None = None) -> list[str]:
        """The outlet's stored article URLs due for a visit at ``now``, longest waiting
        first: the one definition of "due" (``schedule.due_condition``)."""
        _check_aware("now", now)
        with self.engine.connect() as conn:
            return schedule.due_articles(conn, outlet, now, limit)

    def article_schedule(self, outlet: str) -> dict[str, schedule.Scheduled]:
        """url -> its schedule (interval, next visit, last fetch, listed date, origin) for
        every stored article URL of the outlet."""
        with self.engine.connect() as conn:
            return schedule.article_schedule(conn, outlet)

    def save_visit(self, url: str, visit: Visit, *, fetched_at: datetime,
                   validators: tuple[str | None, str | None] | None = None,
                   listed_at: datetime | None = None) -> None:
        """Record a visit of a story URL made at ``fetched_at``: its next one (``visit``), and
        its new (etag, last_modified) and listed date when given. A URL without a story is not
        kept."""
        _check_aware("fetched_at", fetched_at)
        with self._write_engine.begin() as conn:
            schedule.save_visit(conn, url, visit, fetched_at, validators, listed_at)

    def page_validators(self, outlet: str) -> dict[str, tuple[str | None, str | None]]:
        """url -> (etag, last_modified) of the outlet's discovery pages (start pages, feeds,
        sitemaps)."""
        with self.engine.connect() as conn:
            return schedule.page_validators(conn, outlet)

    def save_page_validators(self, outlet: str, pages: dict[str, tuple[str | None, str | None]],
                             fetched_at: datetime | None = None) -> None:
        """Remember the validators of discovery pages (url -> (etag, last_modified))."""
        if not pages:
            return
        outlet_id = self._outlet(outlet)
        with self.transaction() as session:
            schedule.save_page_validators(session.connection(), self._insert(session, PageValidator),
                                          outlet_id, pages, fetched_at or utcnow())

    def host_paces(self, since: datetime) -> dict[str, float]:
        """host -> the request delay (seconds) the last crawl to reach it settled at, for hosts
        measured at or after ``since`` (``crawler/throttle.py`` starts them there)."""
        _check_aware("since", since)
        with self.engine.connect() as conn:
            return schedule.host_paces(conn, since)

    def save_host_paces(self, paces: dict[str, float], measured_at: datetime | None = None) -> None:
        """Remember each host's settled request delay (host -> seconds)."""
        if not paces:
            return
        _check_aware("measured_at", measured_at)
        with self.transaction() as session:
            schedule.save_host_paces(session.connection(), self._insert(session, HostPace),
                                     paces, measured_at or utcnow())

    # -- crawl runs ---------------------------------------------------------------------------

    def start_run(self, outlets: list[str]) -> int:
        """Open a crawl run row owned by this process (pid, host); returns its id. First closes,
        as "interrupted", the open rows whose crawl is gone: this host's rows whose process no
        longer runs, and rows without an owner (written before owners were recorded)."""
        host = socket.gethostname()
        with self.transaction() as session:
            now = utcnow()
            for run in session.scalars(select(CrawlRun).where(CrawlRun.ended_at.is_(None))):
                if run.pid is None or (run.host == host and not process_alive(run.pid)):
                    run.ended_at, run.status = now, "interrupted"
            run = CrawlRun(started_at=now, outlets=list(outlets), pid=os.getpid(), host=host)
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, stats: dict[str, Any], status: str = "finished") -> None:
        """Close a crawl run with its per-outlet stats (counts, errors; JSON-serialisable) and
        how it ended (``RUN_STATUSES``: "interrupted" when stopped by a signal)."""
        if status not in RUN_STATUSES:
            raise ValueError(f"crawl run status {status!r}: use one of {RUN_STATUSES}")
        with self.transaction() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise ValueError(f"unknown crawl run id {run_id}")
            run.ended_at = utcnow()
            run.stats = stats
            run.status = status

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """A crawl run as a dict (id, started_at, ended_at, outlets, stats, status, pid, host),
        or None."""
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
                "status": run.status,
                "pid": run.pid,
                "host": run.host,
            }

    def last_run(self, outlet: str, since: datetime) -> dict[str, Any] | None:
        """The latest crawl run of ``outlet`` alone started at or after ``since`` (as
        ``get_run``), or None: how the daemon finds what its crawl child did."""
        _check_aware("since", since)
        with self.reading() as session:
            runs = session.scalars(select(CrawlRun).where(CrawlRun.started_at >= since)
                                   .order_by(CrawlRun.id.desc())).all()
            run_id = next((r.id for r in runs if r.outlets == [outlet]), None)
        return self.get_run(run_id) if run_id is not None else None

    # -- reading ------------------------------------------------------------------------------

    def list_stories(
        self, outlet: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Stories, newest first (``queries.story_rows``). ``outlet``: carried by that outlet
        (any of its URLs); ``since``: changed (or first seen) at or after that time."""
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
            ordered = session.scalars(ids.order_by(Story.first_seen.desc(), Story.id.desc()))
            return story_rows(session, list(ordered))

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
        with self.reading() as session:
            return alert_page(session, status=status, per_page=limit).items

    def end_baseline(self, outlets: Iterable[str], at: datetime | None = None) -> list[str]:
        """Mark the first (baseline) crawl of these outlets done; call it when a crawl of them
        *finished* (not interrupted). An outlet with no stored URL yet (its site was down, say)
        stays in its baseline. Returns the outlets whose baseline ended now."""
        _check_aware("at", at)
        names = list(dict.fromkeys(outlets))
        if not names:
            return []
        has_urls = select(StoryUrl.id).where(StoryUrl.outlet_id == Outlet.id).exists()
        with self.transaction() as session:
            ended = session.scalars(
                update(Outlet)
                .where(Outlet.name.in_(names), Outlet.baseline_done_at.is_(None), has_urls)
                .values(baseline_done_at=at or utcnow())
                .returning(Outlet.name))
            return sorted(ended)

    def browser_first(self, outlet: str) -> bool:
        """Whether this outlet's articles go straight to the browser (the render memory)."""
        with self.reading() as session:
            value = session.scalar(select(Outlet.browser_first).where(Outlet.name == outlet))
        return bool(value)

    def set_browser_first(self, outlet: str, value: bool) -> None:
        self.ensure_outlets([outlet])
        with self.transaction() as session:
            session.execute(update(Outlet).where(Outlet.name == outlet)
                            .values(browser_first=bool(value)))
