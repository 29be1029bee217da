"""Fixtures for the shared-frontier tests: a real Redis key prefix per test, an outlet of many
distinct article pages whose server counts every fetch and its peak concurrency, and real
``newswatch worker`` / ``newswatch daemon`` processes that die with the test (scheduler.guard).

Redis: ``$NEWSWATCH_TEST_REDIS_URL``; PostgreSQL: ``$NEWSWATCH_TEST_POSTGRES_URL`` (the
``db_url`` fixture's postgresql case). Either missing: the test skips, saying which.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.lifetime import descendants  # noqa: F401 - the tests' leftover check
from newswatch.localserver import LocalServer, Reply, Request, etag, not_modified

REDIS_ENV = "NEWSWATCH_TEST_REDIS_URL"
ROOT = Path(__file__).resolve().parents[1]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "do", "fu", "gi",
              "ha", "jo", "ku", "le", "mo", "na", "po", "qu", "ri", "su", "te", "wa", "xe"]


def article_text(i: int, marker: str | None = None) -> str:
    """A page of words nobody else uses: no two pages are near-duplicates."""
    rng = random.Random(i)
    words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
             for _ in range(160)]
    if marker:
        words.insert(40, marker)
    sentences = [" ".join(words[k:k + 16]).capitalize() + "." for k in range(0, len(words), 16)]
    paragraphs = "".join(f"<p>{' '.join(sentences[k:k + 2])}</p>" for k in range(0, 10, 2))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Report {i}: {words[0]} {words[1]}</title>"
            "<meta property='article:published_time' content='2026-09-01T08:00:00+00:00'>"
            f"</head><body><article><h1>Report {i}: {words[0]} {words[1]}</h1>{paragraphs}"
            "</article></body></html>")


class CountingOutlet:
    """``pages`` articles at /a/N.html, linked from /index.html (and half of them again from
    /more.html: the same link seen by two listings); every fetch counted per path, the peak
    number of requests answered at once recorded. ``delay``: seconds each article takes.
    ``marker_every``: every Nth article mentions ``MARKER`` (a watch term). ``first``: the
    number of the first article (outlets on several hosts serve different articles).
    ``listing_delay``: seconds each listing takes (so the articles queued beside it come first).
    Listings carry an ETag and answer If-None-Match with a 304 (``listings`` records each)."""

    MARKER = "zorblatix"

    def __init__(self, pages: int, *, host: str = "127.0.0.1", delay: float = 0.0,
                 marker_every: int = 10, first: int = 0) -> None:
        self.pages, self.delay, self.marker_every, self.first = pages, delay, marker_every, first
        self.listing_delay = 0.0
        self.listings: list[tuple[str, int]] = []  # (path, status) of each listing answered
        self.first_article: float | None = None  # time.monotonic() of the first article asked
        self.hits: Counter[str] = Counter()
        self.active = self.peak = 0
        self._lock = threading.Lock()
        self.server = LocalServer(self._serve, host=host, name="frontier-outlet")
        self.url = f"http://{host}:{self.server.port}"

    def article_paths(self) -> list[str]:
        return [f"/a/{i}.html" for i in range(self.first, self.first + self.pages)]

    def marked(self) -> int:
        return sum(1 for i in range(self.first, self.first + self.pages)
                   if i % self.marker_every == 0)

    def _serve(self, request: Request) -> Reply:
        with self._lock:
            self.hits[request.path] += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self._page(request.path, request.headers)
        finally:
            with self._lock:
                self.active -= 1

    def _page(self, path: str, headers: dict[str, str]) -> Reply:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nDisallow: /private/\n",
                         {"Content-Type": "text/plain"})
        if path in ("/index.html", "/more.html"):
            paths = self.article_paths() if path == "/index.html" else self.article_paths()[::2]
            if self.listing_delay:
                time.sleep(self.listing_delay)
            links = "".join(f"<li><a href='{p}'>{p}</a></li>" for p in paths)
            body = f"<html><body><ul>{links}</ul></body></html>".encode()
            tag = etag(body)
            status = 304 if not_modified(headers, tag, None) else 200
            self.listings.append((path, status))
            return Reply(status, body if status == 200 else b"", {**html, "ETag": tag})
        if path.startswith("/a/") and path.endswith(".html"):
            i = int(path[3:-5])
            if self.first_article is None:
                self.first_article = time.monotonic()
            if self.first <= i < self.first + self.pages:
                if self.delay:
                    time.sleep(self.delay)
                marker = self.MARKER if i % self.marker_every == 0 else None
                return Reply(200, article_text(i, marker).encode(), html)
        return Reply(404, b"not found", {"Content-Type": "text/plain"})

    def fetched_twice(self) -> list[str]:
        return [p for p in self.article_paths() if self.hits[p] > 1]

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis with a key prefix of its own (``REDIS_PREFIX`` env of the test's
    processes is not used: the prefix goes in the config); its keys are deleted afterwards."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis: ${REDIS_ENV} is not set")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at ${REDIS_ENV} does not answer: {exc}")
    yield url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    import redis

    name = f"nwtest-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)


def outlet_config(db_url: str, redis: str, prefix: str, outlet: CountingOutlet, *,
                  lease: str = "5m", concurrency: int = 16, hook: str | None = None,
                  extra_urls: list[str] | None = None) -> dict:
    config: dict = {
        "database": db_url,
        "redis": redis,
        "frontier": {"key_prefix": prefix, "lease": lease},
        "politeness": {"concurrency_per_domain": concurrency, "autothrottle": False,
                       "retries": 1, "timeout": 60},
        "outlets": [{"name": "many", "start_urls": [outlet.url + "/index.html",
                                                    outlet.url + "/more.html",
                                                    *(extra_urls or [])],
                     "article_url": r"/a/\d+\.html$", "alert_on_first_crawl": True,
                     "render": "never"}],
    }
    if hook:
        config["watches"] = [{"name": "zorb", "terms": [CountingOutlet.MARKER],
                              "notify": ["hook"]}]
        config["notify"] = {"hook": {"webhook": hook}}
    return config


def newswatch_process(*args: str, env: dict[str, str] | None = None,
                      stderr: int | None = subprocess.PIPE, taskset: str | None = None
                      ) -> subprocess.Popen[bytes]:
    """``newswatch ARGS`` in a child that dies with this process (PR_SET_PDEATHSIG);
    ``taskset``: the CPU list to pin it (and its extraction pool) to."""
    guard = ROOT / "scheduler" / "guard.py"
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("NEWSWATCH_DATABASE_URL", "NEWSWATCH_REDIS_URL")}
    full_env.update(env or {})
    pin = ["taskset", "-c", taskset] if taskset else []
    return subprocess.Popen(
        [sys.executable, str(guard), str(os.getpid()), *pin, sys.executable, "-m",
         "newswatch.cli", *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        env=full_env, cwd=ROOT)


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """SIGTERM each, SIGKILL after ``timeout``; afterwards none is left running."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def processes_with(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (leftover check)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_for(condition, timeout: float, what: str, procs: list[subprocess.Popen[bytes]] = ()
             ) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` (and a process that died)."""
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            if proc.poll() is not None:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                pytest.fail(f"{what}: process exited {proc.returncode}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
