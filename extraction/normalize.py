"""Extraction's two text forms, both defined in ``newswatch.text``.

* ``tidy_text``: what is stored — the page's own characters, invisible ones removed, whitespace
  tidied (one paragraph a line).
* ``normalize_text``: the comparison form (NFKC on top) — what line rules decide on, never what
  is stored. Identity and hashing use the same form (``newswatch.text.content_hash``).
"""

from __future__ import annotations

from newswatch.text import comparison_form as normalize_text
from newswatch.text import fold_whitespace as tidy_text

__all__ = ["normalize_text", "tidy_text"]
