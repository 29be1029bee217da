"""Nothing the project starts outlives its starter: a real ``newswatch crawl`` (extraction
workers, the forkserver, the resource tracker, headless Chromium) and a real daemon are
SIGKILLed mid-crawl; every process they had started must be gone soon after."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest
import yaml

from tests.lifetime_helpers import alive, descendants, describe, kill_all, start_session, wait_until
from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

CHROMIUM = os.environ.get("NEWSWATCH_CHROMIUM") or "/usr/bin/chromium"
N = 30


def slow_site(site: LocalSite, section: str) -> None:
    """A listing of N articles, each answered after a second: a crawl lasting long enough."""
    paths = [f"/{section}/news/2026/{i}.html" for i in range(N)]
    site.set(f"/{section}/", listing_html(paths))
    for i, path in enumerate(paths):
        paragraphs = [f"{p}（第{i}篇）" for p in ZH_PARAGRAPHS] if section == "zh" else EN_PARAGRAPHS
        html = article_html(f"第{i}篇 {section}", [*paragraphs, f"编号 {i} {section}"],
                            meta_charset="utf-8")
        site.set(path, Page(body=html.encode(), delay=1.0))


def write_config(tmp_path: Path, site: LocalSite, browser: bool) -> Path:
    outlets = [{"name": "plain", "start_urls": [site.url + "/zh/"], "article_url": r"/news/\d{4}/",
                "render": "never", "interval": "1h"}]
    if browser:
        outlets.append({"name": "rendered", "start_urls": [site.url + "/en/"],
                        "article_url": r"/news/\d{4}/", "render": "always", "interval": "1h"})
    config = tmp_path / "newswatch.yaml"
    config.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp_path / 'nw.db'}",
        "politeness": {"concurrency_per_domain": 2, "download_delay": 0, "autothrottle": False},
        "outlets": outlets,
    }, allow_unicode=True))
    return config


def cmdlines(procs: list[psutil.Process]) -> list[str]:
    found = []
    for proc in procs:
        try:
            found.append(" ".join(proc.cmdline()))
        except psutil.Error:
            pass
    return found


def has_workers(pid: int, browser: bool) -> bool:
    lines = cmdlines(descendants(pid))
    forked = sum("multiprocessing.forkserver" in line for line in lines)  # server + workers
    chromium = any("chrom" in line.split(" ", 1)[0] for line in lines)
    return forked >= 3 and (chromium or not browser)


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
