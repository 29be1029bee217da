"""The process pool that runs extraction on every core, shared by all spiders of a crawl.

Extraction is the CPU cost of a crawl; Scrapy's event loop stays on one core, so pages are
extracted in worker processes. The pool is created lazily (a crawl of unchanged pages that all
answer 304 never starts it) and replaced if a worker dies. The fork server imports the
extractor and its candidates once; in an outlet's first crawl it also loads the grouping
encoder's model (``pool(encoder=...)``), which every worker then shares.

The workers end with the crawl however it ends, SIGKILL included (``newswatch.lifetime``): each
dies with its parent, multiprocessing's forkserver, and with the crawl process itself, which is
not its parent. The forkserver and the resource tracker then end by themselves (the last holder
of their pipes is gone).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
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


_EXTRACTOR = ("newswatch.extraction", "newswatch.storage.fingerprint")  # what a worker runs
_PRELOAD = [*_EXTRACTOR, "ftfy", "trafilatura"]  # imported by the fork server, once, not by
# each worker (a worker imports trafilatura on first use, where the fork server has not)


def _warm_up() -> None:
    """Import what a worker runs, before its first page (a no-op after the fork server's
    preload)."""
    for module in _EXTRACTOR:
        importlib.import_module(module)


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


ENCODER_ENV = "NEWSWATCH_FORKSERVER_ENCODER"
"""Set for the fork server of an outlet's first crawl: the ``events.encoder`` setting whose
model it loads before forking workers (``crawler/worker_model.py``)."""
_encoders: dict[str, Any] = {}  # encoder name -> encoder, its model loaded (in this process
_loaded_by: dict[str, int] = {}  # or the fork server) -> the pid of the process that loaded it


def _encoder(name: str) -> Any:
    if name not in _encoders:
        from newswatch.events import make_encoder

        _keep_loaded(make_encoder(name))
    return _encoders[name]


def _keep_loaded(encoder: Any) -> None:
    encoder.encode(["warm up"])  # the model's weights load on first use
    _encoders[encoder.name], _loaded_by[encoder.name] = encoder, os.getpid()


def preload_encoder(setting: str) -> None:
    """In the fork server (``crawler/worker_model.py``): load the model of the encoder the
    ``events.encoder`` setting names, so that every worker forked after starts with it, its
    pages shared. A failure is left for the workers, which load it on first use and say why."""
    from newswatch.events import encoder_for

    try:
        encoder = encoder_for(setting)
        if encoder is not None:
            _keep_loaded(encoder)
    except Exception:  # noqa: S110 - a fork server that dies takes every worker with it
        pass


def encoder_loaded_by(name: str) -> int | None:
    """The pid of the process that loaded encoder ``name``'s model for this one: itself, the
    fork server it was forked from, or None (not loaded)."""
    return _loaded_by.get(name)


def encode_lead(encoder: str, title: str, text: str) -> Any:
    """In a worker: the grouping encoder ``encoder``'s vector of a story's title and lead
    (``events.Lead``), made here so that the crawl's database thread does not. The model is
    the fork server's (``preload_encoder``), else it loads on a worker's first call."""
    from newswatch.events import Lead, lead_text

    lead = lead_text(title, text)
    return Lead(lead, encoder, _encoder(encoder).encode([lead])[0])


@functools.cache
def worker_count() -> int:
    """Worker processes: $NEWSWATCH_EXTRACT_WORKERS (0 = extract in-process), else one a core
    (one in all for a crawl the browser paces, ``browser_paced``)."""
    configured = os.environ.get("NEWSWATCH_EXTRACT_WORKERS")
    if configured and configured.isdigit():
        return int(configured)
    return 1 if _browser_paced else max(1, os.cpu_count() or 1)


_browser_paced = False


def browser_paced(paced: bool) -> None:
    """Say whether this process's crawl has the browser render every page (each outlet's
    ``render: always``): the browser sets its pace, a few pages a second, which one worker
    extracts with time to spare, and a second would only hold memory (~60 MB, and its share of
    the encoder's model). Applies to a pool started after the call."""
    global _browser_paced
    if paced != _browser_paced:
        _browser_paced = paced
        worker_count.cache_clear()


def pool(encoder: str | None = None) -> ProcessPoolExecutor:
    """The crawl's pool, started on first call. ``encoder``: an ``events.encoder`` setting
    whose model the fork server loads before forking the workers (an outlet's first crawl,
    where they encode every new story's lead); it applies only if this call starts the fork
    server, the first in the process."""
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(
                _PRELOAD + (["newswatch.crawler.worker_model"] if encoder else []))
            _start_forkserver({ENCODER_ENV: encoder} if encoder else {})
            _pool = ProcessPoolExecutor(max_workers=worker_count(), mp_context=context,
                                        initializer=_start_worker,
                                        initargs=(os.getpid(),))
        return _pool


def _start_forkserver(environment: dict[str, str]) -> None:
    """Start the fork server without the current folder on its ``sys.path``.

    Python 3.11 runs it as ``python -c ...`` (the current folder first on ``sys.path``) and does
    not give it this process's path, so run from a folder holding a ``newswatch/`` directory
    (the repository root after ``pip install .``) it preloaded that folder as the package and
    every worker died on ``No module named 'newswatch.cli'``. ``PYTHONSAFEPATH`` (3.11+) keeps
    the current folder out; the workers then import the package this process runs.
    ``environment``: more variables the fork server starts with (and this process does not keep).
    """
    from multiprocessing import forkserver

    added = {"PYTHONSAFEPATH": "1", **environment}
    before = {name: os.environ.get(name) for name in added}
    os.environ.update(added)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_early(encoder: str | None = None) -> threading.Thread | None:
    """Start the workers now, in the background (for a crawl that will surely extract pages,
    such as an outlet's first): they are ready by the time the first article arrives.
    Starting them waits for the fork server to import the extractor (a second or more), and
    to load ``encoder``'s model if given (``pool``), so it runs on a thread of its own while
    the crawl starts; the first page that needs a worker before then waits for it. Returns
    that thread (shutdown() joins it)."""
    if worker_count() == 0:
        return None

    def run() -> None:
        executor = pool(encoder)
        for _ in range(worker_count()):
            executor.submit(_warm_up)

    starter = threading.Thread(target=run, name="newswatch-workers-start", daemon=True)
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
