"""Exceptions raised by the storage package, and which database errors mean "cannot write"."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of storage errors."""


class DatabaseError(StorageError):
    """The database URL is malformed, unreachable or cannot be migrated (one-line message)."""


# the database refuses every write: (what the driver says, or a PostgreSQL SQLSTATE) -> cause
_UNWRITABLE = (
    ("readonly database", "it is read-only"),
    ("read-only", "it is read-only"),
    ("25006", "it is read-only"),  # read_only_sql_transaction
    ("database or disk is full", "the disk is full"),
    ("no space left", "the disk is full"),
    ("53100", "the disk is full"),  # disk_full
    ("disk i/o error", "disk I/O error"),
)


def unwritable(exc: BaseException) -> str | None:
    """Why nothing can be written when ``exc`` says the database refuses writes (read-only,
    disk full, I/O error), else None: such an error repeats for every page, so a crawl stops at
    the first one instead of failing page after page."""
    orig = getattr(exc, "orig", None) or exc
    said = f"{getattr(orig, 'sqlstate', '') or ''} {orig}".lower()
    return next((cause for words, cause in _UNWRITABLE if words in said), None)
