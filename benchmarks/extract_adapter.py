"""Adapter for the shared score.py: ``extract(html_bytes, url) -> article text`` (loaded by path).

score.py loads extractors as ``FILE:function``; this file is that entry for newswatch's own
extractor (the installed package, whatever directory score.py runs from).
"""

from __future__ import annotations

from newswatch.extraction import extract_article


def extract(html_bytes: bytes, url: str | None = None) -> str:
    return extract_article(html_bytes, url or "").text
