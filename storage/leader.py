"""One leader per database: the lock a daemon holds for as long as it schedules crawls.

PostgreSQL: a session advisory lock on a connection of its own, keyed by the database (advisory
locks live in one database) and the schema (``current_schema()``), so daemons on different
schemas of one server do not exclude each other; the connection's ``application_name`` says who
holds it. SQLite: an ``flock`` on ``<database file>-leader`` beside the database, whose content
says who holds it. Both are released by the kernel or the server when the holder dies, however
it dies, so a waiting daemon takes over. The holder ``check()``s now and then that it still holds
the lock: a PostgreSQL restart (or a terminated backend) ends the session and the lock with it,
and the holder must notice before it schedules another crawl.
"""

from __future__ import annotations

import contextlib
import os
import socket
import zlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from newswatch.storage.sqlite import database_file, file_lock

_PG_LEADER_CLASS = 0x6E776C64  # "nwld": first key of the two-key advisory lock
_PG_NAME_PREFIX = "newswatch daemon "  # + holder_name(): the lock connection's application_name


def holder_name() -> str:
    """How this process names itself as the holder: ``pid N on host H``."""
    return f"pid {os.getpid()} on host {socket.gethostname()}"


class Leadership:
    """``acquire()`` (no waiting) and ``holder()`` of the database's leader lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None  # PostgreSQL: the connection holding the lock
        self._file_lock = contextlib.ExitStack()  # SQLite: the locked file
        self._file = database_file(engine.url)
        self._keys: dict[str, int] | None = None  # PostgreSQL: the lock's two keys
        self.held = False

    def acquire(self) -> bool:
        """Take the lock if free; True when this process holds it (now or already)."""
        if not self.held:
            self.held = (self._acquire_pg() if self.engine.dialect.name == "postgresql"
                         else self._acquire_file())
        return self.held

    def holder(self) -> str:
        """Who holds the lock (``pid N on host H``), or "unknown"."""
        try:
            if self.engine.dialect.name == "postgresql":
                with self.engine.connect() as conn:
                    name = conn.execute(text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                        " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                        " AND l.database = (SELECT oid FROM pg_database"
                        "                   WHERE datname = current_database())"
                        " AND l.classid = :c AND l.objid = :o AND l.objsubid = 2"),
                        self._pg_keys(conn)).scalar()
            elif self._file is not None:
                name = self._lock_path().read_text(encoding="utf-8").strip()
            else:
                name = None
        except Exception:  # noqa: BLE001 - the name is only for the message
            name = None
        return (name or "").removeprefix(_PG_NAME_PREFIX) or "unknown"

    def check(self) -> str:
        """Whether this process still holds the lock it took: ``held``; ``retaken`` (the lock
        had gone with its connection, and is taken again on a new one); ``lost`` (another
        process holds it now); ``unreachable`` (it had gone, and the database does not answer
        to take it again). Only PostgreSQL's lock can go: a file lock lasts as long as we do."""
        if self._connection is None or self._keys is None:
            return "held" if self.held else self._retake()
        try:
            mine = self._connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
                " AND locktype = 'advisory' AND granted"
                " AND classid = :c AND objid = :o AND objsubid = 2"), self._keys).scalar()
            self._connection.commit()
        except Exception:  # noqa: BLE001 - the connection is gone, and the lock with it
            mine = 0
        if mine:
            return "held"
        self.release()
        return self._retake()

    def _retake(self) -> str:
        try:
            return "retaken" if self.acquire() else "lost"
        except Exception:  # noqa: BLE001 - the database does not answer (yet)
            return "unreachable"

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()  # closed, not pooled: the lock ends with the session
                self._connection.close()
            self._connection = None
        self._file_lock.close()
        self.held = False

    # -- PostgreSQL ---------------------------------------------------------------------------

    @staticmethod
    def _pg_keys(conn: Any) -> dict[str, int]:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
        objid = zlib.crc32(schema.encode("utf-8"))
        return {"c": _PG_LEADER_CLASS, "o": objid - (1 << 32) if objid >= 1 << 31 else objid}

    def _acquire_pg(self) -> bool:
        conn = self.engine.connect()
        try:
            conn.execute(text("SELECT set_config('application_name', :n, false)"),
                         {"n": f"{_PG_NAME_PREFIX}{holder_name()}"[:63]})
            keys = self._pg_keys(conn)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:c, :o)"), keys).scalar()
            conn.commit()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._connection = conn  # held open (out of the pool) for the daemon's life
            self._keys = keys
            return True
        conn.invalidate()  # not back to the pool with our application_name
        conn.close()
        return False

    # -- SQLite -------------------------------------------------------------------------------

    def _lock_path(self) -> Any:
        assert self._file is not None
        return self._file.with_name(self._file.name + "-leader")

    def _acquire_file(self) -> bool:
        if self._file is None:
            return True  # a memory database: nobody else can open it
        fd = self._file_lock.enter_context(file_lock(self._lock_path(), wait=False))
        if fd is None:
            self._file_lock.close()
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder_name()}\n".encode())
        return True
