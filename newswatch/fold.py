"""Text folding: NFKC, casefold, traditional -> simplified Chinese (watches and search).

``fold(text)`` is applied identically to watch terms and to article text, so a term matches
whatever its spelling: full-width ``ＧＰＴ－４`` is ``gpt-4``, ``通義千問`` is ``通义千问``.
Matching folds watch terms and articles with it; storage's search index holds
``search_form(text)`` (the folded text, one token per CJK character) and searches for
``search_form(query)``, so a search finds what a watch with the same term would.

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
so that snippets can be cut from the original text. The map is exact up to characters that
normalisation joins (``e`` + combining accent): their folded characters point at the first.

Cost (10 KB article, this machine kind): ~0.05 ms for text already NFKC-normalised (what
extraction delivers), ~0.15-0.3 ms for raw Chinese with full-width punctuation, up to ~0.9 ms
when many characters change length (``…`` in every sentence). The t2s converter is built once
per process on first use (~20-50 ms).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

__all__ = ["OffsetMap", "fold", "fold_with_map", "search_form", "to_original", "t2s_converter"]

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


# Scripts written without spaces between words (CJK ideographs and their radicals, kana, Hangul
# syllables, CJK punctuation): search_form makes each character a word of its own.
_UNSPACED = re.compile("([\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       "\uac00-\ud7af\uf900-\ufaff\U00020000-\U000323af])")


def search_form(text: str) -> str:
    """``fold(text)`` with a space on each side of every CJK character: what the search index
    holds and what a query is turned into. A word tokenizer (SQLite FTS5 unicode61,
    PostgreSQL's ``simple`` text search) then sees one token per ideograph, so a phrase query
    for ``数 字 人`` finds ``數字人`` through the index for terms of any length."""
    folded = fold(text)
    return folded if folded.isascii() else _UNSPACED.sub(r" \1 ", folded)


def fold_with_map(text: str) -> tuple[str, OffsetMap | None]:
    """Fold ``text`` and keep a way back to original offsets.

    Returns ``(folded, offsets)`` with ``folded == fold(text)``. ``offsets`` is ``None`` when
    ``folded[i]`` comes from ``text[i]`` for every ``i`` (no step changed the length, the usual
    case for text that was NFKC-normalised already); otherwise an ``OffsetMap``. Use
    ``to_original(offsets, i)`` either way.
    """
    if text.isascii():
        # NFKC leaves ASCII alone; casefold of ASCII is lower() and keeps the length.
        return text.lower(), None
    if not unicodedata.is_normalized("NFKC", text):
        text = _ascii_width(text)  # same length, so offsets into it are offsets into text
        if not unicodedata.is_normalized("NFKC", text):
            cased, offsets = _fold_spans(text)
            return _t2s(cased), offsets
    cased = text.casefold()
    if len(cased) == len(text):
        return _t2s(cased), None
    cased, offsets = _fold_spans(text)
    return _t2s(cased), offsets


_SPAN = 256


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


def _nfkc_casefold(piece: str) -> str:
    if not unicodedata.is_normalized("NFKC", piece):
        piece = unicodedata.normalize("NFKC", piece)
    return piece.casefold()


def _fold_spans(text: str) -> tuple[str, OffsetMap]:
    """NFKC + casefold of ``text`` built span by span (about 256 characters, cut safely)."""
    pieces: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (original start, original end, folded start)
    n, folded_at, start = len(text), 0, 0
    while start < n:
        end = min(start + _SPAN, n)
        while end < n and not _safe_cut(text[end]):
            end += 1
        piece = _nfkc_casefold(text[start:end])
        pieces.append(piece)
        spans.append((start, end, folded_at))
        folded_at += len(piece)
        start = end
    return "".join(pieces), OffsetMap(text, spans, folded_at)


class OffsetMap:
    """Folded index -> original index, for a text whose folding changed lengths.

    Spans whose folded length equals their own map one to one. Within a span that changed,
    the exact map is worked out on first use: the span is halved at safe cuts down to pieces
    that cannot be cut, whose folded characters all point at the piece's first character.
    """

    def __init__(self, text: str, spans: list[tuple[int, int, int]], folded_len: int):
        self._text = text
        self._spans = spans
        self._starts = [s[2] for s in spans]
        self._folded_len = folded_len
        self._detail: dict[int, list[int]] = {}
        # Per span: original - folded index when the span kept its length, else None.
        ends = self._starts[1:] + [folded_len]
        self._shift = [
            start - folded_start if folded_end - folded_start == end - start else None
            for (start, end, folded_start), folded_end in zip(spans, ends, strict=True)
        ]

    def __call__(self, folded_index: int) -> int:
        if folded_index >= self._folded_len or not self._spans:
            return len(self._text)
        k = bisect_right(self._starts, folded_index) - 1
        if k < 0:
            k = 0
        shift = self._shift[k]
        if shift is not None:
            return folded_index + shift
        start, end, folded_start = self._spans[k]
        detail = self._detail.get(k)
        if detail is None:
            detail = self._detail[k] = self._span_detail(start, end)
        return detail[folded_index - folded_start]

    def _span_detail(self, start: int, end: int) -> list[int]:
        """Folded index -> original index inside one span whose length changed."""
        text, out = self._text, []
        # Fast: runs of characters that fold to one character map one to one; any other
        # character is folded on its own (lengths cached).
        i = start
        for run in _ONE_TO_ONE.finditer(text, start, end):
            for p in range(i, run.start()):
                out.extend([p] * _folded_len(text[p]))
            out.extend(range(run.start(), run.end()))
            i = run.end()
        for p in range(i, end):
            out.extend([p] * _folded_len(text[p]))
        if len(out) == len(_nfkc_casefold(text[start:end])):
            return out
        # Normalisation joined characters (a combining mark, conjoining jamo): bisect.
        out = []

        def cut_near(lo: int, mid: int, hi: int) -> int:
            for i in range(mid, hi):
                if _safe_cut(text[i]):
                    return i
            for i in range(mid - 1, lo, -1):
                if _safe_cut(text[i]):
                    return i
            return hi

        def walk(lo: int, hi: int) -> None:
            size = len(_nfkc_casefold(text[lo:hi]))
            if size == hi - lo:
                out.extend(range(lo, hi))
                return
            mid = cut_near(lo, (lo + hi) // 2, hi) if hi - lo > 1 else hi
            if mid >= hi:  # nothing to cut: one character, or one that joins its neighbours
                out.extend([lo] * size)
                return
            walk(lo, mid)
            walk(mid, hi)

        walk(start, end)
        return out


# ASCII, CJK punctuation and CJK ideographs: NFKC + casefold give one character each
# (the text here has had full-width ASCII replaced already).
_ONE_TO_ONE = re.compile("[\x00-\x7f\u3000-\u3029\u4e00-\u9fff]+")
_LENGTHS: dict[str, int] = {}


def _folded_len(cluster: str) -> int:
    size = _LENGTHS.get(cluster)
    if size is None:
        size = len(_nfkc_casefold(cluster))
        if len(_LENGTHS) < 100_000:
            _LENGTHS[cluster] = size
    return size


def to_original(offsets: OffsetMap | None, folded_index: int) -> int:
    """Original-text index of ``folded_index`` (which may equal ``len(folded)``)."""
    if offsets is None:
        return folded_index
    return offsets(folded_index)
