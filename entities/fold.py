"""Length-keeping folding for entity tagging: width, case, dashes, traditional -> simplified.

``fold(text)`` maps every character to exactly one character, so an offset into the folded
text is the same offset into the original (entity hits report offsets into the original):
full-width ``ＧＰＴ`` -> ``gpt``, ``通義千問`` -> ``通义千问``, ``GPT‑4o`` (non-breaking
hyphen) -> ``gpt-4o``. A character whose NFKC or casefold form is longer than one character
(``ﬁ``, ``ß``, ``㈱``) is only lower-cased when that keeps one character, else left as it is.
Traditional -> simplified is character by character (OpenCC t2s, first candidate), like the
watch folding in ``matching.fold``, so an alias folds the same alone and inside a text.

``fold_keep_case(text)`` does the same but keeps the letter case: aliases whose case must
match (``xAI``) compare in it, and it is the form handed to a (case-sensitive) sentence encoder.

This room may not import ``matching``; this module is a stand-in until a shared kernel fold
(``newswatch/text.py``) exists. The table fills lazily, one code point at a time (about 2 us
for a new character, then a C-level lookup).
"""

from __future__ import annotations

import threading
import unicodedata

__all__ = ["fold", "fold_keep_case"]

# Dashes and minus signs that NFKC leaves alone but writers use for "-" in model names.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_lock = threading.Lock()
_t2s_convert = None


def _t2s_char(ch: str) -> str:
    """The simplified form of one character (itself when OpenCC maps it to more or less)."""
    global _t2s_convert
    if not ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"):
        return ch
    if _t2s_convert is None:
        with _lock:
            if _t2s_convert is None:
                import opencc

                _t2s_convert = opencc.OpenCC("t2s").convert
    out = _t2s_convert(ch)
    return out if len(out) == 1 else ch


def _one_char(form: str, ch: str) -> str:
    return form if len(form) == 1 else ch


class _Table(dict):
    """``str.translate`` table, one code point -> one code point, filled on first sight."""

    def __init__(self, lower: bool):
        super().__init__()
        self._lower = lower

    def __missing__(self, code: int) -> int:
        ch = chr(code)
        if ch in _DASHES:
            out = "-"
        else:
            out = _one_char(unicodedata.normalize("NFKC", ch), ch)
            if self._lower:
                out = _one_char(out.casefold(), _one_char(ch.casefold(), out))
            out = _t2s_char(out)
        self[code] = ord(out)
        return self[code]


_FOLD = _Table(lower=True)
_CASED = _Table(lower=False)


def fold(text: str) -> str:
    """Width, case, dashes and traditional characters folded; same length as ``text``."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def fold_keep_case(text: str) -> str:
    """Like ``fold`` but keeping the letter case; same length as ``text``."""
    if text.isascii():
        return text
    return text.translate(_CASED)
