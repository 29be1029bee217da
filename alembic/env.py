"""Alembic environment: runs newswatch migrations in one transaction under a lock.

``storage.db.upgrade`` passes an open connection in ``config.attributes["connection"]`` (already
inside a transaction it commits). From the command line (``alembic upgrade head`` with the
repository's alembic.ini) the URL comes from ``-x url=...``, $NEWSWATCH_DATABASE_URL or
``sqlalchemy.url``, in that order.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any, Literal

from sqlalchemy.engine import Connection

from alembic import context
from newswatch.storage.db import create_engine_for, migration_lock
from newswatch.storage.models import Base
from newswatch.storage.search import is_search_table
from newswatch.storage.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("NEWSWATCH_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set NEWSWATCH_DATABASE_URL")
    return url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render storage.types.UTCDateTime as plain DateTime(timezone=True) in new migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Autogenerate leaves the search index alone (built per backend by hand in 0005)."""
    return not (type_ == "table" and is_search_table(name))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(_url())
    try:
        with engine.connect() as connection, connection.begin():
            migration_lock(connection)
            _run(connection)
    finally:
        engine.dispose()


if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
