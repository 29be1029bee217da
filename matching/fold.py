"""Text folding for matching: NFKC, casefold, traditional -> simplified Chinese.

``fold(text)`` is applied identically to watch terms and to article text, so a term matches
whatever its spelling: full-width ``ＧＰＴ－４`` is ``gpt-4``, ``通義千問`` is ``通义千问``.

Traditional -> simplified is *character-level* OpenCC "t2s": every code point that OpenCC's
t2s maps on its own is replaced by its first candidate. OpenCC's phrase tables are not used on
purpose: they depend on the neighbouring characters (``憑藉`` -> ``凭借`` but ``藉`` alone stays),
so a term folded on its own could differ from the same characters folded inside an article.
Character level keeps ``fold(term) in fold(text)`` whenever ``term in text``. Every OpenCC
t2s mapping is one code point to one code point (checked when the table is built), so this
step never changes the length.

NFKC and casefold can change the length (``ﬁ`` -> ``fi``, ``ß`` -> ``ss``, ``㈱`` -> ``(株)``).
``fold_with_map`` returns, beside the folded text, a map from folded offsets back to offsets
in the original text (``None`` when folding kept every character in place, the usual case),
so that snippets can be cut from the original text.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import unicodedata
from array import array
from collections.abc import Callable
from pathlib import Path

__all__ = ["fold", "fold_with_map", "to_original", "t2s_converter"]

# Blocks holding the characters OpenCC's t2s tables know about (CJK radicals and symbols,
# Ext A, URO, compatibility ideographs, Ext B and later).
_CJK_RANGES = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x323AF),
)

# Full-width ASCII and the ideographic space: the only NFKC changes in most Chinese text.
# Replacing them by their compatibility mapping first does not change the NFKC result, and
# usually leaves a string that passes the fast ``is_normalized`` check (NFKC itself is slow).
_FULLWIDTH = re.compile("[\u3000\uff01-\uff5e]+")
_FULLWIDTH_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_convert: Callable[[str], str] | None = None
_lock = threading.Lock()


def t2s_converter() -> Callable[[str], str]:
    """Character-level t2s ``str -> str``, built once per process on first use (~20 ms)."""
    global _convert
    if _convert is None:
        with _lock:
            if _convert is None:
                _convert = _build_converter()
    return _convert


def _all_cjk() -> str:
    return "".join(chr(c) for lo, hi in _CJK_RANGES for c in range(lo, hi + 1))


def _build_converter() -> Callable[[str], str]:
    """OpenCC with only t2s's character dictionaries (fast); else a translate table.

    The custom config names OpenCC's own t2s dictionaries minus the phrase table. If that
    config cannot be loaded (files renamed in another OpenCC release) or is not 1:1, fall
    back to ``str.translate`` over a table taken from the stock "t2s" config.
    """
    import opencc

    share = Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc"
    config = {
        "name": "t2s, characters only (newswatch)",
        "normalization": [
            {"dict": {"type": "ocd2", "file": str(share / "CJK_Compatibility_Ideographs.ocd2")}}
        ],
        "conversion_chain": [
            {
                "dict": {
                    "type": "group",
                    "match_policy": "short_circuit",
                    "dicts": [
                        {
                            "type": "ocd2",
                            "file": str(share / "TSCharactersExt.ocd2"),
                            "may_output_tofu": True,
                        },
                        {"type": "ocd2", "file": str(share / "TSCharacters.ocd2")},
                    ],
                }
            }
        ],
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "t2s_char.json"
            path.write_text(json.dumps(config), encoding="utf-8")
            converter = opencc.OpenCC(str(path))
        probe = _all_cjk()
        one_to_one = len(converter.convert(probe)) == len(probe)
        # "憑藉" stays "凭藉" only when the phrase table is really left out.
        if one_to_one and converter.convert("通義千問數字人憑藉") == "通义千问数字人凭藉":
            return converter.convert
    except Exception:  # any failure means: use the portable fallback below
        pass
    table = t2s_table(opencc.OpenCC("t2s"))
    return lambda text: text.translate(table)


def t2s_table(converter) -> dict[int, int]:
    """ord -> ord for every CJK code point the stock t2s converter maps on its own.

    Each character is converted on its own line: OpenCC phrase entries never span a newline.
    """
    chars = _all_cjk()
    out = converter.convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):
        raise RuntimeError("opencc t2s changed the number of lines; cannot build a 1:1 table")
    table: dict[int, int] = {}
    for src, dst in zip(chars, out, strict=True):
        if src != dst:
            if len(dst) != 1:
                raise RuntimeError(f"opencc t2s maps {src!r} to {dst!r}: not one character")
            table[ord(src)] = ord(dst)
    return table


def _t2s(text: str) -> str:
    if text.isascii():
        return text
    return t2s_converter()(text)


def _ascii_width(text: str) -> str:
    """Full-width ASCII and U+3000 to ASCII: NFKC's own mapping, one character for one."""
    return _FULLWIDTH.sub(lambda m: m.group().translate(_FULLWIDTH_TABLE), text)


def _nfkc(text: str) -> str:
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _ascii_width(text)
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _fold_piece(text: str) -> str:
    return _t2s(_nfkc(text).casefold())


def fold(text: str) -> str:
    """NFKC, casefold, character-level traditional -> simplified Chinese."""
    return _fold_piece(text)


def fold_with_map(text: str) -> tuple[str, array | None]:
    """Fold ``text`` and map folded offsets back to original offsets.

    Returns ``(folded, offsets)`` with ``folded == fold(text)``. ``offsets`` is ``None`` when
    ``folded[i]`` comes from ``text[i]`` for every ``i`` (no step changed the length, the usual
    case); otherwise an ``array`` of ``len(folded) + 1`` ints where ``offsets[i]`` is the index
    in ``text`` of the character that produced ``folded[i]`` (the last entry is ``len(text)``).
    Use ``to_original``.
    """
    if text.isascii():
        # NFKC leaves ASCII alone; casefold of ASCII is lower() and keeps the length.
        return text.lower(), None
    if not unicodedata.is_normalized("NFKC", text):
        text = _ascii_width(text)  # same length, so offsets into it are offsets into text
        if not unicodedata.is_normalized("NFKC", text):
            cased, offsets = _fold_mapped(text)
            return _t2s(cased), offsets
    cased = text.casefold()
    if len(cased) == len(text):
        return _t2s(cased), None
    cased, offsets = _fold_mapped(text)
    return _t2s(cased), offsets


_CHUNK = 64


def _safe_cut(ch: str) -> bool:
    """True if NFKC never joins ``ch`` with what precedes it.

    Characters below U+0300 (ASCII, Latin-1, Latin Extended, IPA), general punctuation,
    CJK punctuation, CJK unified ideographs, Hangul syllables and full-width ASCII are
    starters that decompose to starters and are never the second half of a composition, so
    ``NFKC(a + b) == NFKC(a) + NFKC(b)`` when ``b`` starts with one. Casefold and t2s work
    character by character anyway.
    """
    return (
        ch < "\u0300"
        or "\u2010" <= ch <= "\u205e"
        or "\u3000" <= ch <= "\u3029"
        or "\u4e00" <= ch <= "\u9fff"
        or "\uac00" <= ch <= "\ud7a3"
        or "\uff01" <= ch <= "\uff5e"
    )


def _fold_mapped(text: str) -> tuple[str, array]:
    """NFKC + casefold of ``text`` built from pieces, with offsets back into ``text``.

    Cuts ``text`` into spans of about 64 characters at safe cuts. A span whose folded length
    equals its own maps one to one; a span that changed is halved again at a safe cut down to
    pieces that cannot be cut, whose folded characters all point at the piece's first
    character. Cost grows with the number of changed characters, not the text length.
    """
    offsets = array("l")
    pieces: list[str] = []
    n = len(text)

    def cut_near(start: int, mid: int, end: int) -> int:
        for i in range(mid, end):
            if _safe_cut(text[i]):
                return i
        for i in range(mid - 1, start, -1):
            if _safe_cut(text[i]):
                return i
        return end

    def walk(start: int, end: int) -> None:
        piece = text[start:end]
        if not unicodedata.is_normalized("NFKC", piece):
            piece = unicodedata.normalize("NFKC", piece)
        piece = piece.casefold()
        if len(piece) == end - start:
            pieces.append(piece)
            offsets.extend(range(start, end))
            return
        mid = cut_near(start, (start + end) // 2, end) if end - start > 1 else end
        if mid >= end:  # nothing to cut: one character, or one that joins its neighbours
            pieces.append(piece)
            offsets.extend([start] * len(piece))
            return
        walk(start, mid)
        walk(mid, end)

    start = 0
    while start < n:
        end = min(start + _CHUNK, n)
        while end < n and not _safe_cut(text[end]):
            end += 1
        walk(start, end)
        start = end
    offsets.append(n)
    return "".join(pieces), offsets


def to_original(offsets: array | None, folded_index: int) -> int:
    """Original-text index of ``folded_index`` (which may equal ``len(folded)``)."""
    if offsets is None:
        return folded_index
    if folded_index >= len(offsets):
        return offsets[-1]
    return offsets[folded_index]
