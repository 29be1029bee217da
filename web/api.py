"""The JSON API under ``/api/``: the same filters and paging as the pages, field names as
``newswatch stories --json`` / ``alerts --json`` print them; its OpenAPI spec is served at
``/api/openapi.json`` (the models below are what it documents)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from newswatch.secrets import could_reveal
from newswatch.storage import queries
from newswatch.web import views
from newswatch.web.app import entity_table, story_filter

router = APIRouter(prefix="/api", tags=["api"])
PageNumber = Annotated[int, Query(ge=1, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=200, description="Items per page")]


class StoryRow(BaseModel):
    id: int
    outlet: str
    title: str
    url: str | None
    urls: list[str]
    outlets: list[str]
    published: datetime | None
    author: str | None
    language: str | None
    first_seen: datetime
    last_changed: datetime
    revisions: int
    content_hash: str | None
    text: str | None
    watches: list[str]
    event_id: int | None  # the news event (same news, any language or outlet); None: not grouped
    entities: list[str]  # entity ids the story mentions (direct hits)


class Copy(BaseModel):
    id: int
    title: str
    language: str | None
    outlet: str
    url: str | None
    published: datetime | None
    first_seen: datetime


class EventGroup(BaseModel):
    story: StoryRow  # the lead: the event's story that changed last among those listed
    event_id: int | None
    copies: list[Copy]  # the event's other stories
    languages: list[str]


class EntityFacet(BaseModel):
    id: str
    label: str
    label_zh: str
    kind: str | None
    stories: int  # stories mentioning it or one of its products/models (latest 1,000 matching)


class StoryPage(BaseModel):
    stories: list[StoryRow]
    events: list[EventGroup]  # the same stories folded by news event
    facets: dict[str, list[EntityFacet]]  # {"entities": [...]}
    total: int
    total_exact: bool  # false: more than ``total`` stories match (counting stops there)
    page: int
    per_page: int
    pages: int


class Location(BaseModel):
    url: str
    outlet: str
    first_seen: datetime
    last_fetched_at: datetime | None


class RevisionOut(BaseModel):
    id: int
    number: int
    title: str
    text: str
    content_hash: str
    first_seen: datetime
    title_diff: list[list[str]] | None
    diff: list[list[str]]


class MatchOut(BaseModel):
    watch: str
    revision_id: int
    terms: list[str]
    snippet: str
    created_at: datetime


class AlertRow(BaseModel):
    id: int
    uid: str  # the alert's identity for receivers: Idempotency-Key, Message-ID
    story_id: int
    revision_id: int
    watch: str
    channel: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    title: str | None


class StoryDetail(StoryRow):
    locations: list[Location]
    history: list[RevisionOut]
    matches: list[MatchOut]
    alerts: list[AlertRow]


class OutletRow(BaseModel):
    outlet: str
    configured: bool
    interval: int | None
    stories: int
    last_new: datetime | None
    browser_first: bool
    needs_browser: int
    capped: str | None  # the last crawl hit max_new_articles: "50 new article links (7 more ...)"
    warning: str | None
    run: dict[str, Any] | None
    schedule: dict[str, Any] | None


class OutletList(BaseModel):
    outlets: list[OutletRow]


class EventRow(BaseModel):
    id: int
    title: str
    started_at: datetime
    last_story_at: datetime
    story_count: int
    languages: list[str]
    outlets: list[str]
    grouping: str
    stories: list[Copy]
    entities: list[str]


class EventPage(BaseModel):
    events: list[EventRow]
    total: int
    page: int
    per_page: int
    pages: int


class WatchMatch(BaseModel):
    story_id: int
    title: str
    terms: list[str]
    snippet: str
    matched_at: datetime


class WatchRow(BaseModel):
    name: str
    terms: list[str]
    all: list[str]
    exclude: list[str]
    regex: list[str]
    outlets: list[str]
    notify: list[str]
    entities: list[str]
    every_copy: bool
    matched: int
    recent: list[WatchMatch]


class WatchList(BaseModel):
    watches: list[WatchRow]


class AlertPage(BaseModel):
    alerts: list[AlertRow]
    total: int
    page: int
    per_page: int
    pages: int
    counts: dict[str, int]


class PlainJSON(JSONResponse):
    """JSON with datetimes as ISO strings (``views.json_value``), written in one pass (the
    rows are plain dicts and lists built per request: no cycle to look for), secrets masked
    (``views.masked``): the data is walked and written again only when what was written could
    hold one (``secrets.could_reveal``), which is rare."""

    def render(self, content: Any) -> bytes:
        written = self._write(content)
        if could_reveal(written):
            written = self._write(views.masked(content))
        return written.encode("utf-8")

    @staticmethod
    def _write(content: Any) -> str:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":"), default=views.json_value,
                          check_circular=False)


def _json(data: Any) -> JSONResponse:
    return PlainJSON(data)


FACET_STORIES = 1000  # entity facets count over the latest this many matching stories


def story_listing(request: Request, session: Session, flt: queries.StoryFilter, page: int,
                  per_page: int,
                  ) -> tuple[queries.Page, list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """What ``/`` and ``/api/stories`` show, read in the caller's read transaction: the page
    of stories (``queries.find_stories``), the same stories folded by news event
    (``views.group_by_event``) and the entity facet counts over the latest FACET_STORIES
    stories the filter matches (``views.entity_facets``)."""
    result = queries.find_stories(session, flt, page, per_page, facet_stories=FACET_STORIES)
    events = list(dict.fromkeys(r["event_id"] for r in result.items
                                if r.get("event_id") is not None))
    members = queries.event_members(session, events)
    facets = {"entities": views.entity_facets(entity_table(request), result.entity_pairs)}
    return result, views.group_by_event(result.items, members), facets


def story_in_full(request: Request, story_id: int) -> dict[str, Any]:
    with request.app.state.store.reading() as session:
        story = queries.story_detail(session, story_id)
    if story is None:
        raise HTTPException(404, f"story {story_id}: no such story")
    story["history"] = views.history(story)
    return story


def outlets_health(request: Request) -> list[dict[str, Any]]:
    config = request.app.state.config
    intervals = {o.name: o.interval_seconds for o in config.outlets}
    with request.app.state.store.reading() as session:
        health = queries.outlet_health(session, list(intervals))
    return views.outlet_rows(health, intervals)


def watches_with_matches(request: Request, limit: int = 10) -> list[dict[str, Any]]:
    watches = request.app.state.config.watch_rules
    with request.app.state.store.reading() as session:
        found = {w.name: queries.watch_matches(session, w.name, limit) for w in watches}
    return views.watch_rows(watches, found)


def alerts_page(request: Request, status: str | None, watch: str | None, page: int,
                per_page: int) -> queries.Page:
    if status and status not in queries.ALERT_STATUSES:
        raise HTTPException(422, f"status: expected one of {', '.join(queries.ALERT_STATUSES)}"
                                 f", got {status!r}")
    with request.app.state.store.reading() as session:
        return queries.alert_page(session, status or None, watch or None, page, per_page)


@router.get("/stories", response_model=StoryPage, summary="Stories, newest change first")
def api_stories(request: Request, flt: Annotated[queries.StoryFilter, Depends(story_filter)],
                page: PageNumber = 1, per_page: PerPage = 50) -> JSONResponse:
    with request.app.state.store.reading() as session:
        result, groups, facets = story_listing(request, session, flt, page, per_page)
    return _json({"stories": result.items, "events": groups,
                  "facets": facets, "total": result.total,
                  "total_exact": result.exact, "page": result.page,
                  "per_page": result.per_page, "pages": result.pages})


@router.get("/events", response_model=EventPage,
            summary="News events (the same news in any language or outlet), latest first")
def api_events(request: Request,
               entity: Annotated[str | None, Query(max_length=64, description="Mentioning "
                                                   "this entity or one of its products")] = None,
               page: PageNumber = 1, per_page: PerPage = 50) -> JSONResponse:
    entity = (entity or "").strip().casefold()
    family = views.entity_family(entity_table(request), entity) if entity else ()
    with request.app.state.store.reading() as session:
        result = queries.event_page(session, page, per_page, family)
    return _json({"events": result.items, "total": result.total, "page": result.page,
                  "per_page": result.per_page, "pages": result.pages})


@router.get("/stories/{story_id}", response_model=StoryDetail,
            summary="One story: URLs, revisions with diffs, matches, alerts")
def api_story(request: Request, story_id: Annotated[int, Path(ge=1)]) -> JSONResponse:
    return _json(story_in_full(request, story_id))


@router.get("/outlets", response_model=OutletList, summary="Each outlet's crawl health")
def api_outlets(request: Request) -> JSONResponse:
    return _json({"outlets": outlets_health(request)})


@router.get("/watches", response_model=WatchList, summary="Each watch and its latest matches")
def api_watches(request: Request,
                limit: Annotated[int, Query(ge=1, le=100)] = 10) -> JSONResponse:
    return _json({"watches": watches_with_matches(request, limit)})


@router.get("/alerts", response_model=AlertPage, summary="The alert ledger, newest first")
def api_alerts(request: Request,
               status: Annotated[str | None, Query(description="pending, sent or failed")] = None,
               watch: Annotated[str | None, Query()] = None,
               page: PageNumber = 1, per_page: PerPage = 50) -> JSONResponse:
    result = alerts_page(request, status, watch, page, per_page)
    return _json({"alerts": result.items, "total": result.total, "page": result.page,
                  "per_page": result.per_page, "pages": result.pages, **result.extra})
