"""``create_app(config, store=None)``: the FastAPI app -- routes from ``web.api`` (JSON),
``web.pages`` (HTML) and ``web.feeds`` (Atom), the token guard and security headers, the
static stylesheet, and the store it reads (opened here unless given; closed with the app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from newswatch.config import Config
from newswatch.storage.queries import KINDS, StoryFilter
from newswatch.web import views
from newswatch.web.security import guard, is_machine_path

HERE = Path(__file__).resolve().parent
# autoescape everywhere: scraped titles and text are data, never markup; every value shown is
# masked (``views.masked``: story URLs may carry an outlet's ``${VAR}`` value or a password)
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
    finalize=views.masked))
templates.env.filters.update(when=views.when, href=views.href,
                             iso=lambda v: v.isoformat() if v else "")


def create_app(config: Config, store: Any = None) -> FastAPI:
    """The dashboard on ``config`` (watches, outlets, ``serve.token``) and ``store`` (a
    ``storage.Store``; opened from ``config.database`` and closed on shutdown if None)."""
    from newswatch.web import api, feeds, pages

    own_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if own_store:
                app.state.store.close()

    app = FastAPI(title="newswatch", version="1", lifespan=lifespan,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  description="Stories, outlets, watches and alerts stored by newswatch.")
    if own_store:
        from newswatch.storage.db import connect

        store = connect(config.database)
    app.state.store = store
    app.state.config = config
    app.middleware("http")(guard(config.serve.token))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                             for e in exc.errors())
        return error_response(request, 422, problems or "bad request")

    return app


def error_response(request: Request, status: int, message: str) -> Response:
    if is_machine_path(request.url.path):
        return JSONResponse({"detail": message}, status_code=status)
    return templates.TemplateResponse(request, "error.html",
                                      {"status": status, "message": message},
                                      status_code=status)


def parse_when(value: str | None, name: str, end_of_day: bool = False) -> datetime | None:
    """An ISO date or date-time from a query parameter (UTC when no zone is given); a bare
    date used as an end (``until``) means the end of that day."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: not an ISO date or date-time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end_of_day and len(value) <= 10 and when.time() == time(0):
        when += timedelta(days=1)
    return when


def story_filter(
    request: Request,
    q: Annotated[str | None, Query(description="Words in the title or text (folded like "
                                               "watches: 數字人 finds 数字人); all must occur",
                                   max_length=200)] = None,
    outlet: Annotated[str | None, Query(description="Carried by this outlet")] = None,
    watch: Annotated[str | None, Query(description="Matched by this watch")] = None,
    kind: Annotated[str | None, Query(description="new (never changed) or updated")] = None,
    since: Annotated[str | None, Query(description="Last changed at or after (ISO date "
                                                   "or date-time)")] = None,
    until: Annotated[str | None, Query(description="Last changed before (ISO; a bare date "
                                                   "includes that day)")] = None,
    entity: Annotated[str | None, Query(description="Mentions this entity (an id of the "
                                                    "entity table: deepseek) or one of its "
                                                    "products and models", max_length=64)] = None,
    event: Annotated[int | None, Query(ge=1, description="Belongs to this news event")] = None,
) -> StoryFilter:
    """The story filters shared by ``/``, ``/api/stories`` and the feeds (empty = no filter)."""
    if kind and kind not in KINDS:
        raise HTTPException(422, f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    entity = (entity or "").strip().casefold()
    return StoryFilter(q=(q or "").strip() or None, outlet=outlet or None, watch=watch or None,
                       kind=kind or None,  # type: ignore[arg-type]
                       since=parse_when(since, "since"),
                       until=parse_when(until, "until", end_of_day=True),
                       entities=views.entity_family(entity_table(request), entity) if entity else (),
                       event=event)


def entity_table(request: Request) -> Any:
    """The config's entity table (the bundled one when the config was not loaded from a file)."""
    table = getattr(request.app.state.config, "entity_table", None)
    if table is None:
        from newswatch.entities import load_table

        table = load_table()
    return table


def html(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context)
