"""connect / upgrade: migrations, error messages, validators and crawl runs (both backends)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from newswatch.storage.db import connect, create_engine_for, upgrade
from newswatch.storage.errors import DatabaseError
from newswatch.storage.models import Base
from newswatch.storage.search import is_search_table
from tests.storage_samples import ARTICLE_A, Art

pytest_plugins = ["tests.storage_fixtures"]

# the search index is built per backend by migration 0005, not from the models
MODELS_ONLY = {"include_name": lambda name, type_, _parents:
               not (type_ == "table" and is_search_table(name))}

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
TABLES = {"outlets", "stories", "story_urls", "revisions", "story_simhash_bands", "crawl_runs",
          "matches", "alerts", "digests", "page_validators", "scheduler_state", "alembic_version",
          "events", "story_entities", "story_vectors"}


def test_upgrade_empty_database_is_idempotent_and_matches_the_models(db_url: str) -> None:
    assert upgrade(db_url) == "0012"
    assert upgrade(db_url) == "0012"  # second run: nothing to do
    engine = create_engine_for(db_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts=MODELS_ONLY),
                                     Base.metadata)
        assert diffs == []
    finally:
        engine.dispose()
    s = connect(db_url)  # connect on a migrated database keeps its data path working
    assert s.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0).outcome == "new"
    s.close()
    s = connect(db_url)
    assert len(s.list_stories()) == 1
    s.close()


def test_schema_head_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from newswatch.storage.db import SCHEMA_HEAD, migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_a_database_at_head_opens_without_alembic(db_url: str) -> None:
    """A crawl process (the daemon starts one per run) opens a migrated database with one
    query; Alembic's import and its read of every migration are for databases behind."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    connect(db_url).close()
    code = ("import sys\nfrom newswatch.storage.db import connect\n"
            f"connect({db_url!r}).close()\nprint('alembic' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_sqlite_creates_the_folder_and_uses_wal(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/deep/er/nw.db"
    s = connect(url)
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    s.close()
    assert (tmp_path / "deep" / "er" / "nw.db").exists()


def test_bad_urls_raise_one_line_database_errors(tmp_path) -> None:
    cases = [
        ("nosuchdb://x/y", "nosuchdb://x/y"),
        ("not a url", "not a url"),
        ("postgresql+psycopg://alice:s3cret@127.0.0.1:1/nw", "alice:***@127.0.0.1:1/nw"),
    ]
    (tmp_path / "file").write_text("x")
    cases.append((f"sqlite:///{tmp_path}/file/nw.db", f"{tmp_path}/file/nw.db"))
    for url, named in cases:
        with pytest.raises(DatabaseError) as info:
            connect(url)
        message = str(info.value)
        assert named in message and "\n" not in message and "s3cret" not in message, message


def test_validators_round_trip(store) -> None:
    store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    assert store.validators_for("o") == {}
    store.save_validators("https://a.example/1", '"abc"', "Wed, 12 Mar 2025 08:00:00 GMT")
    store.save_validators("https://a.example/unknown", '"zzz"', None)  # no story: not kept
    assert store.validators_for("o") == {
        "https://a.example/1": ('"abc"', "Wed, 12 Mar 2025 08:00:00 GMT"),
    }
    store.save_validators("https://a.example/1", '"def"', None)
    assert store.validators_for("o") == {"https://a.example/1": ('"def"', None)}
    assert store.validators_for("other") == {}


def test_validators_saved_with_the_article(store) -> None:
    # the crawl hands them to record_article: one write transaction a page, same rows
    store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0, validators=('"a"', None))
    assert store.validators_for("o") == {"https://a.example/1": ('"a"', None)}
    later = T0 + timedelta(hours=1)
    result = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), later,
                                  validators=(None, "Wed, 12 Mar 2025 08:00:00 GMT"))
    assert result.outcome == "unchanged"
    assert store.validators_for("o") == {
        "https://a.example/1": (None, "Wed, 12 Mar 2025 08:00:00 GMT")}


def test_visit_saved_with_the_article(store) -> None:
    # the crawl hands the next visit to record_article, decided by the outcome: one write
    # transaction a page, the same rows as save_visit after it
    from newswatch.revisit import Visit

    outcomes: list[str] = []

    def visit(outcome: str) -> Visit:
        outcomes.append(outcome)
        return Visit(T0 + timedelta(hours=1 if outcome == "new" else 2), 3600)

    listed = T0 - timedelta(minutes=5)
    store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0, validators=('"a"', None),
                         visit=visit, listed_at=listed)
    plan = store.article_schedule("o")["https://a.example/1"]
    assert (plan.next_visit_at, plan.revisit_seconds, plan.listed_at, plan.last_fetched_at) == (
        T0 + timedelta(hours=1), 3600, listed, T0)
    assert store.validators_for("o") == {"https://a.example/1": ('"a"', None)}
    later = T0 + timedelta(hours=1)
    result = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), later,
                                  validators=('"b"', None), visit=visit)
    assert result.outcome == "unchanged" and outcomes == ["new", "unchanged"]
    plan = store.article_schedule("o")["https://a.example/1"]
    assert (plan.next_visit_at, plan.listed_at, plan.last_fetched_at) == (
        T0 + timedelta(hours=2), listed, later)
    assert store.validators_for("o") == {"https://a.example/1": ('"b"', None)}


def test_crawl_runs_and_outlets(store) -> None:
    ids = store.ensure_outlets(["a", "b", "a"])
    assert set(ids) == {"a", "b"} and store.ensure_outlets(["b"]) == {"b": ids["b"]}
    run_id = store.start_run(["a", "b"])
    stats = {"a": {"new": 3, "unchanged": 1, "errors": ["timeout https://a/x"]}, "b": {}}
    store.finish_run(run_id, stats)
    run = store.get_run(run_id)
    assert run["outlets"] == ["a", "b"] and run["stats"] == stats
    assert run["ended_at"] >= run["started_at"] and run["ended_at"].tzinfo is not None
    assert store.outlet_names() == ["a", "b"]


def test_last_run_of_one_outlet(store) -> None:
    """How the daemon finds what its crawl child recorded."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    both = store.start_run(["a", "b"])
    store.finish_run(both, {"a": {"new": 1}, "b": {}})
    alone = store.start_run(["a"])
    store.finish_run(alone, {"a": {"new": 2}})
    assert store.last_run("a", before)["stats"] == {"a": {"new": 2}}
    assert store.last_run("b", before) is None  # only in a run of several outlets
    assert store.last_run("a", datetime.now(UTC) + timedelta(hours=1)) is None


@pytest.mark.skipif(not os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"),
                    reason="PostgreSQL: $NEWSWATCH_TEST_POSTGRES_URL is not set")
def test_unreachable_postgres_names_the_masked_url() -> None:
    with pytest.raises(DatabaseError, match=r"bob:\*\*\*@127\.0\.0\.1:1/"):
        upgrade("postgresql+psycopg://bob:pw@127.0.0.1:1/newswatch")


def test_upgrade_from_0001_keeps_data_and_adds_the_render_memory(db_url: str) -> None:
    assert upgrade(db_url, "0001") == "0001"
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO outlets (name, created_at) VALUES ('old', CURRENT_TIMESTAMP)")
    finally:
        engine.dispose()
    assert upgrade(db_url, "0002") == "0002"
    s = connect(db_url)
    try:
        assert s.browser_first("old") is False
        s.set_browser_first("old", True)
        assert s.browser_first("old") is True
        assert s.browser_first("never-seen") is False
    finally:
        s.close()


def test_scheduler_state_made_by_an_older_daemon_upgrades_cleanly(db_url: str) -> None:
    """Before 0003 the daemon created scheduler_state itself (create_all): kept, rows and all."""
    from sqlalchemy import Column, MetaData, String, Table, select

    from newswatch.storage.types import UTCDateTime

    assert upgrade(db_url, "0002") == "0002"
    old = MetaData()  # the table exactly as scheduler/state.py used to define it
    table = Table("scheduler_state", old, Column("outlet", String(200), primary_key=True),
                  Column("last_start", UTCDateTime()), Column("last_end", UTCDateTime()),
                  Column("last_status", String(200)), Column("next_run", UTCDateTime()))
    engine = create_engine_for(db_url)
    try:
        old.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert().values(outlet="o", last_start=T0, last_status="exit 0"))
        assert upgrade(db_url) == "0012"
        with engine.connect() as conn:
            assert conn.execute(select(table.c.outlet, table.c.last_start)).all() == [("o", T0)]
            diffs = compare_metadata(MigrationContext.configure(conn, opts=MODELS_ONLY),
                                     Base.metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_revisit_schedule_decides_which_articles_are_due(store) -> None:
    from newswatch.revisit import Visit
    from tests.storage_samples import ARTICLE_B

    store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    store.record_article("o", "https://a.example/2", Art(ARTICLE_B), T0)
    assert sorted(store.due_articles("o", T0)) == ["https://a.example/1", "https://a.example/2"]
    store.save_visit("https://a.example/1", Visit(T0 + timedelta(hours=1), 3600), fetched_at=T0,
                     validators=('"e1"', None))
    store.save_visit("https://a.example/2", Visit(None, 3600), fetched_at=T0)  # stopped
    assert store.due_articles("o", T0) == []
    assert store.due_articles("o", T0 + timedelta(hours=1)) == ["https://a.example/1"]
    assert store.due_articles("other", T0 + timedelta(days=99)) == []
    plan = store.article_schedule("o")
    assert plan["https://a.example/1"].revisit_seconds == 3600
    assert plan["https://a.example/1"].origin == T0
    assert plan["https://a.example/2"].revisit_seconds == 0
    assert store.validators_for("o") == {"https://a.example/1": ('"e1"', None)}
    store.save_page_validators("o", {"https://a.example/": ('"l1"', None)})
    store.save_page_validators("o", {"https://a.example/": ('"l2"', "Tue, 01 Sep 2026 08:00:00 GMT")})
    assert store.page_validators("o") == {
        "https://a.example/": ('"l2"', "Tue, 01 Sep 2026 08:00:00 GMT")}


def test_host_paces_are_upserted_in_one_statement_and_read_back_by_age(store) -> None:
    store.save_host_paces({"b.example": 2.0, "a.example": 1.0}, T0)
    store.save_host_paces({"a.example": 0.5}, T0 + timedelta(seconds=1))  # measured again
    assert store.host_paces(T0) == {"a.example": 0.5, "b.example": 2.0}
    assert store.host_paces(T0 + timedelta(seconds=1)) == {"a.example": 0.5}  # b: too old
