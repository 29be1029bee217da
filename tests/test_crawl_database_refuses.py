"""A database that refuses writes: read-only (SQLite ``mode=ro``; PostgreSQL sessions whose
transactions are read-only, SQLSTATE 25006) or full (a small tmpfs, when
this machine lets the test mount one). ``newswatch crawl`` says so in one line naming the
database and the cause, exits 1, corrupts nothing, and the alerts of what it did store still go
out. Real crawls, a real local outlet and webhook receiver, real SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.localsite import LocalSite
from tests.pages import article_html, listing_html
from tests.receivers import WebhookReceiver

pytest_plugins = ["tests.storage_fixtures"]

WORDS = "芯片 算力 数据 训练 推理 开源 企业 用户 市场 价格 政策 监管 应用 平台 手机 汽车".split()


def article(i: int) -> str:
    """A distinct article (no near-duplicates), each mentioning 大模型."""
    paragraphs = [f"第{i}篇第{k}段：大模型" + "、".join(WORDS[(i * 7 + k + j) % len(WORDS)]
                                                  for j in range(12)) + f"等方面都有新的进展{i}。"
                  for k in range(5)]
    return article_html(f"大模型新闻第{i}篇", paragraphs, meta_charset="utf-8")


def publish(site: LocalSite, count: int) -> None:
    paths = [f"/news/2026/{i}.html" for i in range(count)]
    site.set("/ai/", listing_html(paths))
    for i, path in enumerate(paths):
        site.set(path, article(i))


def write_config(path: Path, database: str, site: LocalSite, hook: WebhookReceiver) -> Path:
    path.write_text(yaml.safe_dump({
        "database": database,
        "outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                     "article_url": r"/news/\d{4}/", "render": "never",
                     "alert_on_first_crawl": True}],
        "watches": [{"name": "llm", "terms": ["大模型"]}],
        "notify": {"hook": {"webhook": hook.url, "timeout": 5}},
    }, allow_unicode=True))
    return path


def check_intact(db: Path) -> int:
    """PRAGMA integrity_check is ok; returns the number of stories."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])


def one_error_line(result: subprocess.CompletedProcess[str], cause: str, db: Path) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert cause in lines[0] and str(db) in lines[0].replace("%3A", ":"), lines[0]


@pytest.fixture
def outlet() -> Iterator[tuple[LocalSite, WebhookReceiver]]:
    site = LocalSite()
    try:
        with WebhookReceiver() as hook:
            yield site, hook
    finally:
        site.close()


def first_crawl(cli, site: LocalSite, hook: WebhookReceiver, folder: Path,
                articles: int) -> tuple[Path, Path]:
    """A first crawl of ``articles`` articles into folder/nw.db, alerted: (database, config)."""
    publish(site, articles)
    db = folder / "nw.db"
    config = write_config(folder / "nw.yaml", f"sqlite:///{db}", site, hook)
    assert cli("crawl", "--config", str(config)).returncode == 0
    assert check_intact(db) == articles and len(hook.received) == articles
    return db, config


def test_read_only_database_is_one_line_exit_1(tmp_path: Path, cli, outlet) -> None:
    site, hook = outlet
    db, _ = first_crawl(cli, site, hook, tmp_path, 3)
    publish(site, 6)
    read_only = write_config(tmp_path / "ro.yaml", f"sqlite:///file:{db}?mode=ro&uri=true",
                             site, hook)
    one_error_line(cli("crawl", "--config", str(read_only)), "read-only", db)
    assert check_intact(db) == 3 and len(hook.received) == 3


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` up to ``leave`` bytes free."""
    import os

    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


def test_full_disk_is_one_line_exit_1_and_stored_alerts_still_go_out(
        small_disk: Path, cli, outlet) -> None:
    site, hook = outlet
    db, config = first_crawl(cli, site, hook, small_disk, 2)
    publish(site, 60)
    filler = fill(small_disk, leave=300 * 1024)
    result = cli("crawl", "--config", str(config))
    one_error_line(result, "disk is full", db)
    filler.unlink()
    stored = check_intact(db)
    assert stored >= 2
    # every story stored has its alert: sent, or still pending for the next run. A send whose
    # outcome the full disk refused to record is sent again (docs/alerts.md, "Delivery
    # guarantee"), with the same alert_uid, so a receiver that drops repeats sees it once.
    with contextlib.closing(sqlite3.connect(db)) as conn:
        sent = conn.execute("SELECT count(*) FROM alerts WHERE status = 'sent'").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert total == stored and sent <= len(hook.received)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()  # past any send's lease
    assert cli("alerts", "--send", "--config", str(config),
               env={"NEWSWATCH_NOW": later}).returncode == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM alerts WHERE status != 'sent'").fetchone()[0] == 0
    uids = [r.json["alert_uid"] for r in hook.received]
    assert len(set(uids)) == stored  # each alert received, a repeat only with its own uid
    assert len({r.json["alert_id"] for r in hook.received}) == stored


def read_only_session(db_url: str) -> str:
    """``db_url`` (a PostgreSQL schema's URL, ``options=-csearch_path=...``) with every
    transaction of its sessions read-only: writes fail with SQLSTATE 25006."""
    from urllib.parse import quote, unquote

    base, options = db_url.split("options=", 1)
    return base + "options=" + quote(unquote(options) + " -cdefault_transaction_read_only=on")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_read_only_postgresql_is_one_line_exit_1(db_url: str, tmp_path: Path, cli,
                                                 outlet) -> None:
    from sqlalchemy import create_engine, text

    site, hook = outlet
    publish(site, 3)
    config = write_config(tmp_path / "nw.yaml", db_url, site, hook)
    assert cli("crawl", "--config", str(config)).returncode == 0
    publish(site, 6)
    read_only = write_config(tmp_path / "ro.yaml", read_only_session(db_url), site, hook)
    result = cli("crawl", "--config", str(read_only))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "read-only" in lines[0], result.stderr
    assert db_url.split("?")[0] in lines[0], lines[0]  # names the database
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM stories")).scalar() == 3
    finally:
        engine.dispose()
    assert len(hook.received) == 3
