"""Nothing the project starts outlives its starter: a real ``newswatch crawl`` (extraction
workers, the forkserver, the resource tracker, headless Chromium) and a real daemon are
SIGKILLed mid-crawl; every process they had started must be gone soon after."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.lifetime_helpers import (
    alive,
    cmdlines,
    descendants,
    describe,
    has_workers,
    kill_all,
    slow_site,
    start_session,
    wait_until,
    write_config,
)
from tests.localsite import LocalSite

CHROMIUM = os.environ.get("NEWSWATCH_CHROMIUM") or "/usr/bin/chromium"


def kill_and_check(top, tmp_path: Path, browser: bool, log: Path) -> None:
    try:
        wait_until(lambda: top.poll() is not None or has_workers(top.pid, browser),
                   "extraction workers (and Chromium) running", limit=180)
        assert top.poll() is None, log.read_text()[-3000:]
        tree = descendants(top.pid)
        names = cmdlines(tree)
        assert any("resource_tracker" in line for line in names), describe(tree)
        os.kill(top.pid, signal.SIGKILL)
        top.wait(30)
        wait_until(lambda: not alive(tree), "every descendant gone", limit=60)
    except AssertionError as exc:
        left = alive(locals().get("tree", []))
        raise AssertionError(f"{exc}\nleft:\n{describe(left)}") from None
    finally:
        if top.poll() is None:
            top.kill()
        kill_all(locals().get("tree", []))


@pytest.mark.parametrize("browser", [False, pytest.param(True, marks=pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="no Chromium"))], ids=["workers", "browser"])
def test_sigkill_of_crawl_leaves_no_process(tmp_path: Path, browser: bool) -> None:
    site = LocalSite()
    try:
        slow_site(site, "zh")
        slow_site(site, "en")
        config = write_config(tmp_path, site, browser)
        log = tmp_path / "crawl.log"
        top = start_session([sys.executable, "-m", "newswatch.cli", "crawl", "--config",
                             str(config), "--quiet"], log, env={"NEWSWATCH_EXTRACT_WORKERS": "2"})
        kill_and_check(top, tmp_path, browser, log)
    finally:
        site.close()


def test_sigkill_of_daemon_leaves_no_process(tmp_path: Path) -> None:
    site = LocalSite()
    try:
        slow_site(site, "zh")
        config = write_config(tmp_path, site, browser=False)
        log = tmp_path / "daemon.log"
        top = start_session([sys.executable, "-m", "newswatch.cli", "daemon", "--config",
                             str(config)], log, env={"NEWSWATCH_EXTRACT_WORKERS": "2"})
        kill_and_check(top, tmp_path, False, log)
    finally:
        site.close()
