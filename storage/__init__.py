"""Storage: SQLAlchemy models, engine + Alembic upgrade, and the Store that decides identity.

    from storage.db import connect
    store = connect("sqlite:///data/newswatch.db")
"""

from storage.db import connect, upgrade
from storage.errors import DatabaseError, StorageError
from storage.store import RecordResult, Store

__all__ = ["DatabaseError", "RecordResult", "StorageError", "Store", "connect", "upgrade"]
