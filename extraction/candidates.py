"""Other candidates for a page's main text besides the readability-based one (core.py):
trafilatura's extraction and the JSON-LD articleBody a page may carry. Each returns tidied
text with the page's own characters, or "" when it has nothing."""

from __future__ import annotations

import json
import logging

import lxml.html

from .decode import fix_mojibake
from .normalize import tidy_text

_JSONLD_XPATH = "//script[@type='application/ld+json']"
_MAX_JSONLD = 2_000_000  # characters of one script element


def trafilatura_text(html: str) -> str:
    """trafilatura's main text (its fast mode: no fallback extractors, no comments)."""
    try:
        import trafilatura  # on first use: a pool worker that never needs it saves the import
    except ImportError:
        return ""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(html, fast=True, include_comments=False,
                                   include_tables=True, deduplicate=False)
    except Exception:  # a candidate that fails is no candidate
        return ""
    return tidy_text(fix_mojibake(text)) if text else ""


def _bodies(obj: object, depth: int = 0):
    if depth > 6:
        return
    if isinstance(obj, dict):
        body = obj.get("articleBody")
        if isinstance(body, str):
            yield body
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart"):
            if key in obj:
                yield from _bodies(obj[key], depth + 1)
    elif isinstance(obj, list):
        for item in obj[:50]:
            yield from _bodies(item, depth + 1)


def jsonld_body(root: lxml.html.HtmlElement) -> str:
    """The longest JSON-LD articleBody on the page (call before scripts are stripped)."""
    best = ""
    for script in root.xpath(_JSONLD_XPATH):
        raw = script.text or ""
        if "articleBody" not in raw or len(raw) > _MAX_JSONLD:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for body in _bodies(data):
            if len(body) > len(best):
                best = body
    if not best:
        return ""
    if "<" in best:  # some sites put HTML in it
        try:
            best = lxml.html.fromstring(best).text_content()
        except Exception:
            return ""
    return tidy_text(fix_mojibake(best))
