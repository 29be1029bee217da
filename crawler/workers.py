"""The process pool that runs extraction on every core, shared by all spiders of a crawl.

Extraction is the CPU cost of a crawl; Scrapy's event loop stays on one core, so pages are
extracted in worker processes. The pool is created lazily (a crawl of unchanged pages that all
answer 304 never starts it) and replaced if a worker dies.

The workers end with the crawl however it ends, SIGKILL included (``newswatch.lifetime``): each
dies with its parent, multiprocessing's forkserver, and with the crawl process itself, which is
not its parent. The forkserver and the resource tracker then end by themselves (the last holder
of their pipes is gone).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()  # start_early creates the pool on a thread of its own
_starters: list[threading.Thread] = []  # those threads (shutdown joins them)


def _warm_up() -> None:
    import newswatch.extraction  # noqa: F401  (import once per worker, before the first page)
    import newswatch.storage.fingerprint  # noqa: F401


def _start_worker(crawl: int) -> None:
    """Initializer of each worker: end with the forkserver and with the crawl ``crawl``, and
    leave Ctrl-C and SIGTERM (sent to the whole process group) to the crawl, which finishes
    the pages in hand and shuts the pool down: no worker traceback, no page lost mid-way."""
    from newswatch.lifetime import die_with, die_with_parent

    die_with_parent()
    die_with(crawl)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _warm_up()


def extract_for_storage(body: bytes, url: str, header_charset: str | None) -> tuple[Any, Any]:
    """In a worker: the page's Article and, for a real article, the storage fingerprint
    (hash, SimHash, index keys) computed here rather than on the crawl's database thread."""
    from newswatch.extraction import extract_article
    from newswatch.storage.fingerprint import prepare

    article = extract_article(body, url, header_charset)
    fingerprint = prepare(article.text) if article.text and not article.skip_reason else None
    return article, fingerprint


@functools.cache
def _encoder(name: str) -> Any:
    from newswatch.events import make_encoder

    return make_encoder(name)


def encode_lead(encoder: str, title: str, text: str) -> Any:
    """In a worker: the grouping encoder ``encoder``'s vector of a story's title and lead
    (``events.Lead``), made here so that the crawl's database thread does not. The model loads
    on a worker's first call (``warm_encoder``), once per worker."""
    from newswatch.events import Lead, lead_text

    lead = lead_text(title, text)
    return Lead(lead, encoder, _encoder(encoder).encode([lead])[0])


def warm_encoder(encoder: str) -> None:
    """Load the encoder's model in each worker, in the background (a crawl about to store new
    stories: each one's lead is encoded in a worker)."""
    _in_background(lambda executor: executor.submit(encode_lead, encoder, "", "warm up"),
                   "newswatch-encoder-warm-up")


@functools.cache
def worker_count() -> int:
    """Worker processes: $NEWSWATCH_EXTRACT_WORKERS (0 = extract in-process), else one a core."""
    configured = os.environ.get("NEWSWATCH_EXTRACT_WORKERS")
    if configured and configured.isdigit():
        return int(configured)
    return max(1, os.cpu_count() or 1)


def pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["newswatch.extraction",
                                            "newswatch.storage.fingerprint"])
            _start_forkserver()
            _pool = ProcessPoolExecutor(max_workers=worker_count(), mp_context=context,
                                        initializer=_start_worker,
                                        initargs=(os.getpid(),))
        return _pool


def _start_forkserver() -> None:
    """Start the fork server without the current folder on its ``sys.path``.

    Python 3.11 runs it as ``python -c ...`` (the current folder first on ``sys.path``) and does
    not give it this process's path, so run from a folder holding a ``newswatch/`` directory
    (the repository root after ``pip install .``) it preloaded that folder as the package and
    every worker died on ``No module named 'newswatch.cli'``. ``PYTHONSAFEPATH`` (3.11+) keeps
    the current folder out; the workers then import the package this process runs.
    """
    from multiprocessing import forkserver

    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = before


def start_early() -> threading.Thread | None:
    """Start the workers now, in the background (for a crawl that will surely extract pages,
    such as an outlet's first): they are ready by the time the first article arrives.
    Starting them waits for the fork server to import the extractor (a second or more), so
    it runs on a thread of its own while the crawl starts; the first page that needs a worker
    before then waits for it. Returns that thread (shutdown() joins it)."""
    return _in_background(lambda executor: executor.submit(_warm_up), "newswatch-workers-start")


def _in_background(submit: Callable[[ProcessPoolExecutor], Any], name: str) -> threading.Thread | None:
    """On a thread of its own: the pool (started if need be), then ``submit(pool)`` once per
    worker. None when workers are disabled."""
    if worker_count() == 0:
        return None

    def run() -> None:
        executor = pool()
        for _ in range(worker_count()):
            submit(executor)

    starter = threading.Thread(target=run, name=name, daemon=True)
    _starters.append(starter)
    starter.start()
    return starter


async def run_in_pool(func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)`` in a worker process; in-process when workers are disabled (0)."""
    if worker_count() == 0:
        return func(*args)
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool(), func, *args)
    except BrokenProcessPool:
        _pool = None  # a worker died (e.g. killed by the OOM killer): start afresh next time
        raise


def shutdown() -> None:
    global _pool
    while _starters:  # a pool being started is shut down, not left behind
        _starters.pop().join()
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
