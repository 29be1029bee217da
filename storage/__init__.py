"""Storage: SQLAlchemy models, engine + Alembic upgrade, and the Store that decides identity.

    from newswatch.storage.db import connect
    store = connect("sqlite:///data/newswatch.db")

The names below are imported on first use (PEP 562): a process that needs one light module of
this package, such as an extraction worker's ``storage.fingerprint``, does not import SQLAlchemy
and Alembic with it (~0.3 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newswatch.storage.db import connect, upgrade
    from newswatch.storage.errors import DatabaseError, StorageError
    from newswatch.storage.store import RecordResult, Store

__all__ = ["DatabaseError", "RecordResult", "StorageError", "Store", "connect", "upgrade"]

_HOMES = {"connect": "db", "upgrade": "db", "DatabaseError": "errors", "StorageError": "errors",
          "RecordResult": "store", "Store": "store"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
