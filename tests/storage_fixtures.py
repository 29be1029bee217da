"""Fixtures and sample texts for storage tests: a fresh database per test on SQLite and PostgreSQL.

Test modules load them with ``pytest_plugins = ["tests.storage_fixtures"]``; the lead's
tests/conftest.py can do the same to expose ``db_url`` / ``store`` to every test.
PostgreSQL runs when $NEWSWATCH_TEST_POSTGRES_URL is set (each test gets its own schema,
dropped afterwards); otherwise those cases skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from newswatch.storage.db import connect
from newswatch.storage.store import Store

POSTGRES_ENV = "NEWSWATCH_TEST_POSTGRES_URL"


def _postgres_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/db/newswatch.db"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL: ${POSTGRES_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated Store on a fresh database."""
    s = connect(db_url)
    try:
        yield s
    finally:
        s.close()
