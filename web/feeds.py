"""Atom feeds (feedgen): ``/feeds/all.atom``, ``/feeds/watch/{name}.atom``,
``/feeds/outlet/{name}.atom``. One entry per news event (a story not grouped is its own),
newest change first: the entry's id is that of the event's first story and never changes, so
an edited story or another outlet's copy of the same news (in any language) replaces the entry
(the copies listed in its content, ``updated`` bumped) instead of adding one. Categories name
the outlets, watches (``watch:``), entities (``entity:``) and the event (``event:``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from newswatch.storage import queries
from newswatch.storage.models import Event
from newswatch.web import views

router = APIRouter(prefix="/feeds", include_in_schema=False)
ENTRIES = 50
SUMMARY_CHARS = 280
ATOM = "application/atom+xml; charset=utf-8"


def entry_id(story_id: int) -> str:
    """The entry's permanent id (RFC 4151 tag URI): the same for every revision."""
    return f"tag:newswatch,2026:story:{story_id}"


def _feed(request: Request, title: str, flt: queries.StoryFilter) -> Response:
    with request.app.state.store.reading() as session:
        stories = queries.find_stories(session, flt, 1, ENTRIES).items
        events = {s["event_id"] for s in stories if s["event_id"] is not None}
        members = queries.event_members(session, list(events))
        first = {e.id: e.first_story_id for e in session.query(Event).filter(Event.id.in_(events))}
    base = str(request.base_url).rstrip("/")
    self_url = str(request.url)
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=base + "/", rel="alternate", type="text/html")
    fg.generator("newswatch")
    fg.updated(max((s["last_changed"] for s in stories), default=datetime(2026, 1, 1, tzinfo=UTC)))
    groups = views.group_by_event(views.masked(stories), views.masked(members))
    for group in reversed(groups):  # feedgen puts the last added entry first
        _entry(fg.add_entry(), group, first.get(group["event_id"]), base)
    return Response(fg.atom_str(pretty=True), media_type=ATOM)


def _entry(fe: Any, group: dict[str, Any], first_story: int | None, base: str) -> None:
    story, copies = group["story"], group["copies"]
    text = story["text"] or ""
    fe.id(entry_id(first_story or story["id"]))
    fe.title(story["title"] or "(untitled)")
    # one link, the story's page (every URL it appeared at is listed there): feedgen 1.0
    # writes entry links without their rel, so a second one would be a second "alternate"
    fe.link(href=f"{base}/stories/{story['id']}", rel="alternate", type="text/html")
    fe.published(story["first_seen"])
    fe.updated(story["last_changed"])
    if story["author"]:
        fe.author(name=story["author"])
    for name in story["outlets"]:
        fe.category(term=f"outlet:{name}", label=name)
    for name in story["watches"]:
        fe.category(term=f"watch:{name}", label=name)
    for entity in story["entities"]:
        fe.category(term=f"entity:{entity}", label=entity)
    if group["event_id"] is not None:
        fe.category(term=f"event:{group['event_id']}", label=f"event {group['event_id']}")
    fe.summary(text[:SUMMARY_CHARS] + ("…" if len(text) > SUMMARY_CHARS else ""))
    also = [f"- {c['outlet']} ({c['language'] or '?'}): {c['title']} {base}/stories/{c['id']}"
            for c in copies]
    fe.content(text + ("\n\nThe same news elsewhere:\n" + "\n".join(also) if also else ""),
               type="text")


@router.get("/all.atom", summary="Every story")
def all_feed(request: Request) -> Response:
    return _feed(request, "newswatch: all stories", queries.StoryFilter())


@router.get("/watch/{name}.atom", summary="Stories a watch matched")
def watch_feed(request: Request, name: str) -> Response:
    if name not in {w.name for w in request.app.state.config.watch_rules}:
        raise HTTPException(404, f"watch {name!r}: no such watch in the config")
    return _feed(request, f"newswatch: watch {name}", queries.StoryFilter(watch=name))


@router.get("/outlet/{name}.atom", summary="Stories an outlet carried")
def outlet_feed(request: Request, name: str) -> Response:
    configured = {o.name for o in request.app.state.config.outlets}
    with request.app.state.store.reading() as session:
        known = name in configured or name in queries.outlet_names(session)
    if not known:
        raise HTTPException(404, f"outlet {name!r}: no such outlet")
    return _feed(request, f"newswatch: outlet {name}", queries.StoryFilter(outlet=name))
