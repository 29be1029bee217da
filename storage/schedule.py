"""The revisit schedule of article URLs, the validators of discovery pages and each host's
pace (its settled request delay), as statements.

``due_articles`` is the one definition of "which stored articles are due": never scheduled
(``revisit_seconds`` NULL), or scheduled (``revisit_seconds`` > 0) at or before ``now``. A URL
whose ``revisit_seconds`` is 0 is not visited again (``newswatch/revisit.py`` stopped it).
The crawl and a queue of workers both ask this question through ``Store.due_articles``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from newswatch.revisit import Visit
from newswatch.storage.models import HostPace, Outlet, PageValidator, Story, StoryUrl

_URLS = StoryUrl.__table__
_PAGES = PageValidator.__table__


@dataclass(frozen=True)
class Scheduled:
    """A stored article URL as its schedule knows it."""

    revisit_seconds: int | None  # the interval that led to its next visit (None: never set)
    next_visit_at: datetime | None
    last_fetched_at: datetime | None
    listed_at: datetime | None  # the newest <lastmod> / feed date acted on
    origin: datetime  # published, else first seen: the age the schedule decays with


def _outlet_urls(outlet: str):  # type: ignore[no-untyped-def]
    return (select(StoryUrl.url).join(Outlet, Outlet.id == StoryUrl.outlet_id)
            .where(Outlet.name == outlet))


def due_condition(now: datetime):  # type: ignore[no-untyped-def]
    """The SQL condition "this story URL is due at ``now``"."""
    return or_(StoryUrl.revisit_seconds.is_(None),
               and_(StoryUrl.revisit_seconds > 0, StoryUrl.next_visit_at <= now))


def due_articles(conn: Connection, outlet: str, now: datetime, limit: int | None = None,
                 ) -> list[str]:
    query = _outlet_urls(outlet).where(due_condition(now))
    query = query.order_by(func.coalesce(StoryUrl.next_visit_at, StoryUrl.first_seen),
                           StoryUrl.id)
    return list(conn.scalars(query.limit(limit) if limit else query))


def article_schedule(conn: Connection, outlet: str) -> dict[str, Scheduled]:
    rows = conn.execute(
        select(StoryUrl.url, StoryUrl.revisit_seconds, StoryUrl.next_visit_at,
               StoryUrl.last_fetched_at, StoryUrl.listed_at, Story.published,
               StoryUrl.first_seen)
        .join(Outlet, Outlet.id == StoryUrl.outlet_id)
        .join(Story, Story.id == StoryUrl.story_id)
        .where(Outlet.name == outlet))
    return {url: Scheduled(seconds, at, fetched, listed, published or first_seen)
            for url, seconds, at, fetched, listed, published, first_seen in rows}


def save_visit(conn: Connection, url: str, visit: Visit, fetched_at: datetime,
               validators: tuple[str | None, str | None] | None = None,
               listed_at: datetime | None = None) -> None:
    values: dict[str, object] = {
        "last_fetched_at": fetched_at, "next_visit_at": visit.at,
        "revisit_seconds": visit.interval if visit.at is not None else 0}
    if validators is not None:
        values["etag"], values["last_modified"] = validators
    if listed_at is not None:
        values["listed_at"] = listed_at
    conn.execute(update(_URLS).where(_URLS.c.url == url).values(**values))


def page_validators(conn: Connection, outlet: str) -> dict[str, tuple[str | None, str | None]]:
    rows = conn.execute(
        select(PageValidator.url, PageValidator.etag, PageValidator.last_modified)
        .join(Outlet, Outlet.id == PageValidator.outlet_id).where(Outlet.name == outlet))
    return {url: (etag, last_modified) for url, etag, last_modified in rows}


def save_page_validators(conn: Connection, insert, outlet_id: int,  # type: ignore[no-untyped-def]
                         pages: dict[str, tuple[str | None, str | None]],
                         fetched_at: datetime) -> None:
    for url, (etag, last_modified) in pages.items():
        values = {"etag": etag, "last_modified": last_modified, "last_fetched_at": fetched_at}
        stmt = insert.values(url=url, outlet_id=outlet_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["url"],
                                                set_={**values, "outlet_id": outlet_id}))


def host_paces(conn: Connection, since: datetime) -> dict[str, float]:
    """host -> the request delay a crawl measured for it at or after ``since``."""
    rows = conn.execute(select(HostPace.host, HostPace.delay).where(HostPace.measured_at >= since))
    return {host: delay for host, delay in rows}


def save_host_paces(conn: Connection, insert, paces: dict[str, float],  # type: ignore[no-untyped-def]
                    measured_at: datetime) -> None:
    upsert = insert.on_conflict_do_update(
        index_elements=["host"],
        set_={"delay": insert.excluded.delay, "measured_at": insert.excluded.measured_at})
    # sorted: two crawls saving at once lock the rows in one order
    conn.execute(upsert, [{"host": host, "delay": delay, "measured_at": measured_at}
                          for host, delay in sorted(paces.items())])
