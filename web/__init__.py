"""The dashboard: server-rendered pages, a JSON API and Atom feeds over the stored data.

    from newswatch.web import create_app
    app = create_app(config)            # an ASGI app (FastAPI); reads the store, writes nothing

``newswatch serve`` runs it with uvicorn (``web.server``); ``newswatch daemon --serve`` runs it
in the daemon's process. Pages need no JavaScript; scraped titles and text are always escaped
and every answer carries a strict Content-Security-Policy (``web.security``).
"""

from newswatch.web.app import create_app

__all__ = ["create_app"]
