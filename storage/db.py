"""Engine creation, Alembic upgrade and ``connect(url) -> Store``.

SQLite engines get WAL, a busy timeout, foreign keys and real transactions (the driver's own
transaction handling is switched off; write transactions start with BEGIN IMMEDIATE so two
processes never deadlock on a lock upgrade). Migrations are serialised between processes: a
PostgreSQL advisory lock; on SQLite a lock file beside the database (``<file>-migrate``) taken
before the first connection, so processes opening a new file at once wait for each other.
Errors opening or migrating a database surface as ``DatabaseError`` with a one-line message
naming the URL, its password masked.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from newswatch.errors import first_line
from newswatch.storage import sqlite
from newswatch.storage.errors import DatabaseError, unwritable
from newswatch.storage.sqlite import IMMEDIATE
from newswatch.storage.store import Store

_PG_MIGRATION_LOCK = 0x6E657773  # "news": pg_advisory_xact_lock key serialising migrations


def mask_url(url: object) -> str:
    """The URL with its password replaced by ***."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable: mask by pattern
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def refused_write(url: object, exc: BaseException) -> str | None:
    """One line naming the database and why it refuses every write (read-only, disk full:
    ``errors.unwritable``), or None when ``exc`` is another error."""
    cause = unwritable(exc)
    if cause is None:
        return None
    return f"cannot write to database {mask_url(url)}: {cause} ({first_line(exc)})"


def migrations_dir() -> Path:
    """Folder holding env.py and versions/: ``newswatch/migrations`` in an installed package,
    the repository's ``alembic/`` in a source checkout (or an editable install of one)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "migrations"
    return installed if (installed / "env.py").is_file() else package / "alembic"


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL, set up for newswatch (raises DatabaseError on a bad URL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"bad database URL {mask_url(url)}: {first_line(exc)}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the folder of {mask_url(url)}: {exc.strerror or exc}"
                ) from None
    else:
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"bad database URL {mask_url(url)}: {first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        sqlite.configure(engine)
    return engine


def migration_lock(connection: Connection) -> None:
    """Serialise concurrent migrations (PostgreSQL advisory lock; SQLite: take the write lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["connection"] = connection
    return cfg


SCHEMA_HEAD = "0012"
"""The newest migration (``alembic/versions``; a test holds the two together): a database at it
is opened without importing Alembic, which costs a process ~0.15 s and 136 modules."""


def _schema_version(engine: Engine) -> str | None:
    """The database's Alembic revision, read with one query (None: no schema yet, or unreadable:
    the migration path then says what is wrong)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction (a no-op when already there)."""
    if revision == "head" and _schema_version(engine) == SCHEMA_HEAD:
        return  # nothing to migrate, whatever another process is doing: no lock either
    url = mask_url(engine.url)
    db_file = sqlite.database_file(engine.url)
    serialised = (sqlite.file_lock(db_file.with_name(db_file.name + "-migrate"))
                  if db_file is not None else contextlib.nullcontext())
    try:
        with serialised:
            from alembic import command

            with engine.connect() as connection:
                connection = connection.execution_options(**{IMMEDIATE: True})
                with connection.begin():
                    migration_lock(connection)
                    command.upgrade(_alembic_config(connection), revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open or migrate database {url}: {first_line(exc)}") from None


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at ``url`` (``newswatch db upgrade``); returns the new revision."""
    engine = create_engine_for(url)
    try:
        upgrade_engine(engine, revision)
        return current_revision(engine)
    finally:
        engine.dispose()


def connect(url: str, **engine_kwargs: Any) -> Store:
    """Open the database at ``url``, migrate it to head and return a Store on it."""
    engine = create_engine_for(url, **engine_kwargs)
    try:
        upgrade_engine(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
