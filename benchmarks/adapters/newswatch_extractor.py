"""score.py adapter: extract(html_bytes, url) -> the text newswatch stores for the page.

Loaded by file path from the shared bench's score.py (benchmarks/extraction.py passes it as
`-e newswatch=<this file>:extract`); it lives in a subfolder so CI's `benchmarks/*.py` loop
does not run it as a benchmark."""

from __future__ import annotations

from newswatch.extraction import extract_article


def extract(html_bytes: bytes, url: str | None = None) -> str:
    return extract_article(html_bytes, url or "").text
