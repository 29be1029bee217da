"""Storage: SQLAlchemy models, engine + Alembic upgrade, and the Store that decides identity.

    from newswatch.storage.db import connect
    store = connect("sqlite:///data/newswatch.db")
"""

from newswatch.storage.db import connect, upgrade
from newswatch.storage.errors import DatabaseError, StorageError
from newswatch.storage.store import RecordResult, Store

__all__ = ["DatabaseError", "RecordResult", "StorageError", "Store", "connect", "upgrade"]
