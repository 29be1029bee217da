"""Text forms: tidy_text (what is stored: the page's own characters, whitespace tidied) and
normalize_text (NFKC on top: the form for comparing and hashing, never for storing)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# zero-width and invisible format characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]")
# every Unicode space, so that normalize_text(tidy_text(t)) == normalize_text(t)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def tidy_text(text: str) -> str:
    """The page's own characters with invisible ones removed, spaces collapsed and stripped
    per line, blank lines dropped: paragraphs end up separated by exactly one newline."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", text)
    text = _NEWLINES.sub("\n", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def normalize_text(text: str) -> str:
    """tidy_text of the NFKC form (full-width letters and punctuation folded): for comparing
    and hashing."""
    return tidy_text(unicodedata.normalize("NFKC", text)) if text else ""


def content_hash(text: str) -> str:
    """sha256 hex digest of normalize_text(text), UTF-8 encoded."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
