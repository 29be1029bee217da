"""The HTML pages: ``/`` (stories: filters, search, paging; folded by news event, with
entity facets), ``/stories/{id}`` (text, URLs,
revisions with their diffs, alerts), ``/outlets``, ``/watches``, ``/alerts``, and ``/login``
when a token is configured. Server-rendered, no JavaScript; Jinja2 escapes every value."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newswatch.storage import queries
from newswatch.web import api
from newswatch.web.app import html, story_filter
from newswatch.web.security import COOKIE, safe_next, session_value, token_matches

router = APIRouter(include_in_schema=False)


def _with(request: Request, **changes: str) -> str:
    """This page's URL with some filters changed (an empty value drops one), from page 1."""
    params = {k: v for k, v in request.query_params.items() if v and k != "page"}
    params.update(changes)
    return "/?" + urlencode({k: v for k, v in params.items() if v})


def _feed_for(flt: queries.StoryFilter) -> str:
    if flt.watch:
        return f"/feeds/watch/{flt.watch}.atom"
    if flt.outlet:
        return f"/feeds/outlet/{flt.outlet}.atom"
    return "/feeds/all.atom"


def _with_page(request: Request, page: int) -> str:
    params = {k: v for k, v in request.query_params.items() if v and k != "page"}
    params["page"] = str(page)
    return "?" + urlencode(params)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, flt: Annotated[queries.StoryFilter, Depends(story_filter)],
          page: Annotated[int, Query(ge=1)] = 1,
          per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    with request.app.state.store.reading() as session:
        result, groups, facets = api.story_listing(request, session, flt, page, per_page)
        outlets = sorted(set(queries.outlet_names(session))
                         | {o.name for o in request.app.state.config.outlets})
    watches = [w.name for w in request.app.state.config.watch_rules]
    params = request.query_params
    return html(request, "index.html", {
        "result": result, "flt": flt, "outlets": outlets, "watches": watches,
        "groups": groups,
        "facets": facets["entities"],
        "form": {k: params.get(k, "") for k in ("q", "outlet", "watch", "kind", "since",
                                                 "until", "entity", "event")},
        "feed": _feed_for(flt),
        "facet_url": lambda entity: _with(request, entity=entity),
        "event_url": lambda event: _with(request, event=str(event)),
        "prev_url": _with_page(request, result.page - 1) if result.page > 1 else None,
        "next_url": _with_page(request, result.page + 1) if result.page < result.pages else None,
    })


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int) -> Response:
    return html(request, "story.html", {"story": api.story_in_full(request, story_id)})


@router.get("/outlets", response_class=HTMLResponse)
def outlets(request: Request) -> Response:
    return html(request, "outlets.html", {"outlets": api.outlets_health(request)})


@router.get("/watches", response_class=HTMLResponse)
def watches(request: Request) -> Response:
    return html(request, "watches.html", {"watches": api.watches_with_matches(request)})


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, status: str | None = None, watch: str | None = None,
           page: Annotated[int, Query(ge=1)] = 1) -> Response:
    result = api.alerts_page(request, status, watch, page, 50)
    return html(request, "alerts.html", {
        "result": result, "status": status or "", "watch": watch or "",
        "watches": [w.name for w in request.app.state.config.watch_rules],
        "prev_url": _with_page(request, result.page - 1) if result.page > 1 else None,
        "next_url": _with_page(request, result.page + 1) if result.page < result.pages else None,
    })


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the URL's name
    return html(request, "login.html", {"next": safe_next(next), "failed": False})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    token = request.app.state.config.serve.token
    form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
    given = (form.get("token") or [""])[0].strip()
    target = safe_next((form.get("next") or ["/"])[0])
    if not token:
        return RedirectResponse(target, status_code=303)
    if not token_matches(given, token):
        return html(request, "login.html", {"next": target, "failed": True})
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=30 * 86400)
    return response
