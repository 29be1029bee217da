"""The extraction pool (crawler/workers.py): started early on a thread of its own, it serves
the first page and leaves no worker behind after shutdown."""

from __future__ import annotations

import asyncio
import multiprocessing

from newswatch.crawler import workers

PAGE = ("<html><head><title>Lab releases model</title></head><body><article><h1>Lab releases "
        "model</h1>" + "<p>The lab released a new model on Tuesday and said it was faster. </p>" * 6
        + "</article></body></html>").encode()


def test_pool_started_early_serves_a_page_and_shuts_down(monkeypatch) -> None:
    monkeypatch.setenv("NEWSWATCH_EXTRACT_WORKERS", "1")
    workers.worker_count.cache_clear()
    try:
        starter = workers.start_early()
        assert starter is not None  # the crawl goes on while the pool starts
        article, fingerprint = asyncio.run(workers.run_in_pool(
            workers.extract_for_storage, PAGE, "https://example.com/a", None))
        assert "faster" in article.text and fingerprint is not None
    finally:
        workers.shutdown()
        workers.worker_count.cache_clear()
    assert not starter.is_alive()
    assert multiprocessing.active_children() == []


def test_what_the_fork_server_preloads_leaves_the_database_layer_out() -> None:
    """The fork server imports the extractor and storage.fingerprint before it forks each
    worker (``workers._PRELOAD``); SQLAlchemy and Alembic, which a worker never uses, stay out
    (``newswatch.storage``'s names load on first use): they would add ~0.3 s to every crawl's
    first extraction and their memory to every worker."""
    import subprocess
    import sys

    preload = ", ".join(workers._PRELOAD)
    probe = (f"import sys; import {preload}; "
             "print(sorted(m for m in ('sqlalchemy', 'alembic', 'scrapy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_crawl_the_browser_paces_starts_one_worker(monkeypatch) -> None:
    """Every outlet ``render: always``: the browser's few pages a second need one extraction
    worker (``workers.browser_paced``); a second would only hold memory. An explicit
    $NEWSWATCH_EXTRACT_WORKERS still decides."""
    monkeypatch.delenv("NEWSWATCH_EXTRACT_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    try:
        workers.browser_paced(False)
        assert workers.worker_count() == 4
        workers.browser_paced(True)
        assert workers.worker_count() == 1
        monkeypatch.setenv("NEWSWATCH_EXTRACT_WORKERS", "3")
        workers.worker_count.cache_clear()
        assert workers.worker_count() == 3
    finally:
        workers.browser_paced(False)
        workers.worker_count.cache_clear()
