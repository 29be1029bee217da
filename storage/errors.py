"""Exceptions raised by the storage package."""


class StorageError(Exception):
    """Base class of storage errors."""


class DatabaseError(StorageError):
    """The database URL is malformed, unreachable or cannot be migrated (one-line message)."""
