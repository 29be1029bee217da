"""The database URL a config means: ``$NEWSWATCH_DATABASE_URL``, else the config's
``database:``, else ``sqlite:///newswatch.db``.

* ``postgres://`` and ``postgresql://`` (what hosting providers hand out) mean PostgreSQL
  through psycopg: ``postgresql+psycopg://``.
* A relative SQLite path is relative to the config file's folder (the default included, so
  ``newswatch.db`` sits next to ``newswatch.yaml``); in ``$NEWSWATCH_DATABASE_URL`` or on the
  command line it is relative to the current folder, like any path typed in a shell. Either way
  it is made absolute when the config loads, so the daemon's crawl children agree on the file.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_ENV = "NEWSWATCH_DATABASE_URL"
DEFAULT_DATABASE = "sqlite:///newswatch.db"
_POSTGRES_SCHEMES = ("postgres", "postgresql")


def database_url(url: str, relative_to: Path | None = None) -> str:
    """``url`` with its scheme normalised and a relative SQLite path made absolute under
    ``relative_to`` (default: the current folder). Other URLs are returned as given."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if scheme.lower() in _POSTGRES_SCHEMES:
        return "postgresql+psycopg://" + rest
    if scheme.lower().split("+")[0] != "sqlite":
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # storage names the bad URL when it opens it
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = (relative_to or Path.cwd()) / path
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def database_from_env() -> str | None:
    """``$NEWSWATCH_DATABASE_URL`` normalised (relative to the current folder), or None."""
    url = os.environ.get(DATABASE_ENV)
    return database_url(url, Path.cwd()) if url else None
