"""Process-tree helpers for the lifetime tests: a slow local outlet and its config, a command
started in its own session, the descendants it has started (psutil), and waiting until none of
them is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil
import yaml

from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Callable[[], object], what: str, limit: float = 120.0) -> None:
    """Poll until ``predicate()``; the limit is for a hung test, not a speed assertion."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def start_session(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``argv`` in a new session (its own process group), output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes still running (a zombie waiting for init to reap it counts as gone)."""
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            pass
    return left


def describe(procs: Iterable[psutil.Process]) -> str:
    """One line a process (pid, RSS, command) and their total RSS."""
    lines, total = [], 0
    for proc in procs:
        try:
            rss = proc.memory_info().rss
            total += rss
            lines.append(f"{proc.pid} {rss / 2**20:.0f} MB {' '.join(proc.cmdline())[:140]}")
        except psutil.Error:
            lines.append(f"{proc.pid} (gone)")
    return "\n".join([*lines, f"{len(lines)} process(es), {total / 2**20:.0f} MB"])


def kill_all(procs: Iterable[psutil.Process]) -> None:
    """Clean up after a failed test: SIGKILL whatever of these is left."""
    for proc in alive(procs):
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
