"""SQLite connection setup: busy timeout first, WAL (the switch retried while another process
holds the file), foreign keys, BEGIN [IMMEDIATE] ourselves; and the lock files beside a database
(``file_lock``: the migration lock, the daemon's leader lock)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

BUSY_TIMEOUT_MS = 30_000
IMMEDIATE = "sqlite_immediate"
"""Execution option: on SQLite, start the transaction with BEGIN IMMEDIATE (takes the write
lock up front, so a reader never has to upgrade to writer and fail with SQLITE_BUSY)."""


def configure(engine: Engine) -> None:
    """Install the connect / begin hooks on a SQLite engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver must not BEGIN by itself: _on_begin does
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # before anything touches the file
        switch_to_wal(cur)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def switch_to_wal(cur: Any, timeout: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """``PRAGMA journal_mode = WAL``, retried for up to ``timeout`` seconds while the file is
    locked: SQLite answers "database is locked" at once, without its busy handler, when another
    connection holds a write lock on a file not yet in WAL (e.g. a process creating it)."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def database_file(url: URL) -> Path | None:
    """The file of a SQLite URL (None for memory databases, URI filenames and other backends)."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[int | None]:
    """An exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block; yields
    the locked file's descriptor, or None when it is not held: ``wait`` is False and another
    process holds it, or the file cannot be created (a read-only folder: nothing can write
    there anyway)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)  # releases the lock
