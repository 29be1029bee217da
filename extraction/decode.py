"""Bytes -> str for HTML pages: charset from BOM, HTTP header, <meta>, or the bytes themselves.

Declarations are treated as hints, not facts: valid UTF-8 wins over any declaration, and
between the CJK double-byte codecs (GB18030 vs Big5) the one whose output reads like
Chinese (share of very common characters) wins, because a Big5 page decoded as GB18030
(or the reverse) often "succeeds" without a single error. Bytes that are not UTF-8 are only
taken for UTF-8 "with a cut character" when most of their non-ASCII sequences are valid UTF-8,
so a correct windows-1252 / ISO-8859-1 declaration wins; undeclared Western pages are read as
windows-1252 when that gives accented letters inside words.
"""

from __future__ import annotations

import re

from w3lib.encoding import html_body_declared_encoding, resolve_encoding

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_LATIN = {"cp1252", "latin-1", "iso8859-1", "ascii", "iso8859-15"}
_CJK_GUESSES = ("gb18030", "big5hkscs")
# frequent characters of written Chinese, simplified and traditional forms
_COMMON = frozenset(
    "的一是不了在人有我他这這个個们們中来來上大为為和国國地到以说說时時要就出会會可也对對"
    "生能而子年那得于於着著下自之过過发發后後作里裡用道行所然家种種事成方多经經么麼去法"
    "学學如都同现現当當没沒动動面起看定天分还還进進好小部其些主样樣理心本前开開但因只从"
    "從想实實日者意无無力它与與长長把机機十民第公此已工使情明性知全三又关關点點正业業外"
    "将將两兩高间間由问問很最重并新月记記者表示市场場企业"
)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_MOJIBAKE_HINTS = ("\u00c3", "\u00c2", "\u00e2\u20ac", "\u00e4\u00b8", "\u00e5", "\u00e6", "\u00e7")
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac|[\u00e4-\u00e9][\u00b8-\u00bf\u0080-\u00ad]")


def _normalise_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in ("x-gbk", "gbk", "gb2312", "gb_2312-80", "cp936", "x-gb2312"):
        return "gb18030"
    try:
        return resolve_encoding(name)
    except Exception:  # unknown or malformed label
        return None


def chinese_plausibility(text: str, sample: int = 8000) -> tuple[float, int]:
    """(share of CJK ideographs that are very common ones, number of ideographs), sampled
    from the start of <body> (the head is mostly ASCII)."""
    start = max(0, text.find("<body"))
    cjk = _CJK_RE.findall(text, start, start + sample)
    if len(cjk) < 50 and start:
        cjk = _CJK_RE.findall(text, 0, 4 * sample)
    if not cjk:
        return 0.0, 0
    return sum(map(_COMMON.__contains__, cjk)) / len(cjk), len(cjk)


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _lossy(body: bytes, codec: str) -> tuple[str, float] | None:
    try:
        t = body.decode(codec, "replace")
    except LookupError:
        return None
    return t, t.count("\ufffd") / max(1, len(t))


def _best_cjk(body: bytes, prefer: str | None, lossy: bool,
              min_score: float = 0.08) -> tuple[str, str] | None:
    """Decode with GB18030 and Big5-HKSCS; keep the one that reads most like Chinese."""
    order = [prefer] if prefer in _CJK_GUESSES else []
    order += [c for c in _CJK_GUESSES if c not in order]
    best: tuple[float, str, str] | None = None
    for codec in order:
        if lossy:
            got = _lossy(body, codec)
            if got is None or got[1] > 0.01:
                continue
            text = got[0]
        else:
            text = _strict(body, codec)
            if text is None:
                continue
        score, n = chinese_plausibility(text)
        if n < 4 or score < min_score:
            continue
        if codec == prefer:
            score += 0.05  # a declaration breaks near-ties
        if best is None or score > best[0]:
            best = (score, text, codec)
    return (best[1], best[2]) if best else None


def _mostly_utf8(lossy_text: str) -> bool:
    """Are the non-ASCII characters of a lossy UTF-8 decoding mostly valid sequences? A page
    whose only non-ASCII bytes fail as UTF-8 is in a single-byte charset, not cut UTF-8."""
    bad = lossy_text.count("\ufffd")
    non_ascii = len(lossy_text) - len(lossy_text.encode("ascii", "ignore"))
    return non_ascii - bad >= 2 * bad


_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NON_ASCII_LETTER = re.compile(r"[^\x00-\x7f\W\d_]")


def _western_single_byte(body: bytes) -> str | None:
    """The page as windows-1252 when that reads like a Western language: its accented letters
    sit inside words of ASCII letters (Vielä, modèle). Cyrillic or Greek bytes read as
    windows-1252 give whole words of accented letters instead, and are left to detection."""
    text = _strict(body, "cp1252")
    if text is None:
        return None
    inside = total = 0
    for m in _NON_ASCII_LETTER.finditer(text, 0, 400000):
        total += 1
        i = m.start()
        if _ASCII_LETTER.match(text, i - 1) if i else False:
            inside += 1
        elif _ASCII_LETTER.match(text, i + 1):
            inside += 1
    return text if total and inside * 2 >= total else None


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was once decoded as Latin-1/cp1252 (ftfy), when it looks so.

    ftfy costs about 1 ms per 1,000 characters, so this is meant for extracted text,
    not whole pages; without ftfy installed the text is returned unchanged."""
    if not any(m in text for m in _MOJIBAKE_HINTS) or len(_MOJIBAKE.findall(text, 0, 400000)) < 2:
        return text
    try:
        import ftfy
    except ImportError:
        return text
    return ftfy.fix_encoding(text)


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML body. Returns (text, codec); never raises for any bytes."""
    body = body or b""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, "replace"), codec
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"

    header = _normalise_name(header_charset)
    try:
        meta = _normalise_name(html_body_declared_encoding(body))
    except Exception:
        meta = None
    declared = [c for c in (header, meta) if c and c != "utf-8"]
    # a declaration outside the CJK/Latin families (e.g. shift_jis, koi8-r) is trusted if it decodes
    for codec in declared:
        if codec not in _LATIN and codec not in _CJK_GUESSES and codec != "cp950":
            text = _strict(body, codec)
            if text is not None:
                return text, codec
    prefer = next((c if c != "cp950" else "big5hkscs" for c in declared
                   if c in _CJK_GUESSES or c == "cp950"), None)
    # a Latin-1 declaration is often a server default: it only loses to clearly Chinese text
    min_score = 0.15 if declared and all(c in _LATIN for c in declared) else 0.08
    got = _best_cjk(body, prefer, False, min_score)
    if got is not None:
        return got
    utf8 = _lossy(body, "utf-8")
    if utf8 is not None and utf8[1] < 0.001 and _mostly_utf8(utf8[0]):
        return utf8[0], "utf-8"  # UTF-8 with a cut character or two
    got = _best_cjk(body, prefer, True, min_score)
    if got is not None:
        return got
    for codec in declared:
        if codec in _LATIN:
            text = _strict(body, "cp1252") or body.decode("latin-1")
            return text, "cp1252"
    if utf8 is not None and utf8[1] < 0.005 and _mostly_utf8(utf8[0]):
        return utf8[0], "utf-8"
    western = _western_single_byte(body)
    if western is not None:
        return western, "cp1252"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:200000]).best()
        if best is not None and best.encoding:
            return body.decode(best.encoding, "replace"), best.encoding
    except Exception:  # charset_normalizer is best effort only
        pass
    return body.decode("utf-8", "replace"), "utf-8"
