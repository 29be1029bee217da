"""A crawl that does not end normally: Ctrl-C (SIGINT to the process group, as a terminal
sends it) is one line and exit 130 with no worker traceback; a SIGKILLed crawl's run row is
closed as "interrupted" by the next start. Real crawls of a slow local outlet, real SQLite."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from newswatch.storage.db import connect
from newswatch.storage.models import CrawlRun
from tests import lifetime_helpers as procs
from tests.localsite import LocalSite


@pytest.fixture
def crawl_under_way(tmp_path: Path) -> Iterator[tuple[Any, Path, Path, list[Any]]]:
    """A real crawl of a slow outlet, under way: (process, its log, the SQLite file, the
    processes it has started). Whatever is left is killed afterwards."""
    site = LocalSite()
    procs.slow_site(site, "zh")
    config = procs.write_config(tmp_path, site, browser=False)
    log = tmp_path / "crawl.log"
    top = procs.start_session([sys.executable, "-m", "newswatch.cli", "crawl", "--config",
                               str(config)], log, env={"NEWSWATCH_EXTRACT_WORKERS": "2"})
    tree: list[Any] = []
    try:
        # workers up and several articles fetched (Scrapy's signal handler is installed)
        procs.wait_until(lambda: top.poll() is not None or (
            procs.has_workers(top.pid, False) and len(site.hits) >= 6), "the crawl under way",
            limit=180)
        assert top.poll() is None, log.read_text()
        tree = procs.descendants(top.pid)
        yield top, log, tmp_path / "nw.db", tree
    finally:
        if top.poll() is None:
            top.kill()
        procs.kill_all(tree)
        site.close()


def test_ctrl_c_is_one_line_and_exit_130(crawl_under_way) -> None:
    top, log, db, tree = crawl_under_way
    os.killpg(top.pid, signal.SIGINT)  # the whole group, workers included, as Ctrl-C does
    assert top.wait(180) == 130, log.read_text()[-3000:]
    procs.wait_until(lambda: not procs.alive(tree), "the workers gone", limit=60)
    text = log.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert "BrokenProcessPool" not in text, text[-3000:]
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "interrupted" in errors[0], text[-3000:]
    store = connect(f"sqlite:///{db}")
    try:
        (run,) = [store.get_run(1)]
        assert run is not None and run["status"] == "interrupted" and run["ended_at"] is not None
        assert store.list_stories(), "what was stored before Ctrl-C is kept"
    finally:
        store.close()


def test_a_killed_runs_row_is_closed_at_the_next_start(crawl_under_way) -> None:
    top, _log, db, tree = crawl_under_way
    os.kill(top.pid, signal.SIGKILL)
    top.wait(30)
    store = connect(f"sqlite:///{db}")
    try:
        killed = store.get_run(1)
        assert killed is not None and killed["ended_at"] is None and killed["pid"] == top.pid
        with store.engine.begin() as conn:  # runs that are not over: ours, another host's
            conn.execute(insert(CrawlRun).values(id=2, outlets=["x"], pid=os.getpid(),
                                                 host=socket.gethostname()))
            conn.execute(insert(CrawlRun).values(id=3, outlets=["x"], pid=top.pid,
                                                 host="another-host"))
        run_id = store.start_run(["plain"])  # what the next crawl does first
        closed = store.get_run(1)
        assert closed is not None and closed["status"] == "interrupted"
        assert closed["ended_at"] is not None
        assert store.get_run(2)["ended_at"] is None  # its process still runs
        assert store.get_run(3)["ended_at"] is None  # cannot tell: left as it is
        store.finish_run(run_id, {})
        assert store.get_run(run_id)["status"] == "finished"
    finally:
        store.close()
