"""Text normalisation: the form a page's text is stored in (NFKC, whitespace folded).

How two texts compare and hash is not decided here but in ``newswatch.text`` (the comparison
form), so this stored form may change without changing any story's identity.
"""

from __future__ import annotations

import unicodedata

from newswatch.text import fold_whitespace


def normalize_text(text: str) -> str:
    """NFKC, invisible characters removed, spaces collapsed and stripped per line,
    blank lines dropped: paragraphs end up separated by exactly one newline."""
    if not text:
        return ""
    return fold_whitespace(unicodedata.normalize("NFKC", text))
