"""Adapter for /work/shared/bench/score.py: extract(html_bytes, url) -> article text."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # loaded by file path from score.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newswatch.extraction import extract_article  # noqa: E402


def extract(html_bytes: bytes, url: str | None = None) -> str:
    return extract_article(html_bytes, url or "").text
