"""Page metadata: title, publication date, author, language (meta tags, JSON-LD, <time>,
and Chinese/English patterns in the text)."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

import lxml.html
from dateutil import parser as dateparser

CHINA_TZ = timezone(timedelta(hours=8))

_TZINFOS = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5 * 3600, "EDT": -4 * 3600,
            "CST": 8 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600, "BST": 3600, "CET": 3600,
            "CEST": 7200, "IST": 19800, "JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600}
_DATE_KEYS = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "pubdate", "publishdate", "publish_date", "publish-date", "pubtime",
    "publishtime", "publication_date", "sailthru.date", "parsely-pub-date", "dc.date.issued",
    "dc.date", "dcterms.created", "date", "article.published", "og:release_date",
    "article:modified_time", "datemodified", "lastmod",
)
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "byl", "sailthru.author",
                "parsely-author", "twitter:creator")
_TITLE_KEYS = ("og:title", "twitter:title", "headline")
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')
_JSONLD_AUTHOR = re.compile(r'"author"\s*:\s*\[?\s*(?:\{[^{}]*?"name"\s*:\s*"([^"]{1,80})"|"([^"]{1,80})")')

_ZH_DATE = re.compile(
    r"((?:19|20)\d{2})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*日?"
    r"(?:\s*(?:[T ]|\s)\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?")
_EN_DATE = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? (?:19|20)\d{2}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]* (?:19|20)\d{2}\b")
_ZH_AUTHOR = re.compile(
    r"(?:作者|撰文|撰稿|记者)\s*[:：|丨]\s*([\u4e00-\u9fff·]{2,10}|[A-Za-z][A-Za-z .'\-]{1,30}[A-Za-z])(?=$|[\s,，。;；()（）\[\]【】|丨/])"
    r"|(?:^|\s)(?:本报记者|记者)\s+([\u4e00-\u9fff]{2,4})(?=\s|$)")
_EN_AUTHOR = re.compile(r"^\s*By\s+([A-Z][\w.'\-]+(?:\s+(?:[A-Z][\w.'\-]+|and|de|van|von)){0,4})", re.M)
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_TITLE_SPLIT = re.compile(r"\s+[-|–—_·]\s+|\s*[|_]\s*|\s+-\s*|--")


def _clean(s: str | None) -> str:
    return " ".join(s.split()) if s else ""


def collect_meta(root: lxml.html.HtmlElement) -> dict[str, str]:
    """name/property/itemprop (lower-cased) -> first non-empty content of the page's <meta>s."""
    found: dict[str, str] = {}
    for m in root.iter("meta"):
        content = m.get("content")
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = m.get(attr)
            if key:
                found.setdefault(key.strip().lower(), content.strip())
    return found


def to_utc(value: str, default_tz: timezone = UTC) -> datetime | None:
    """Parse a date string; naive times get default_tz; out-of-range years are rejected."""
    value = value.strip()
    if not value:
        return None
    try:
        if value.isdigit() and len(value) in (10, 13):  # epoch seconds / milliseconds
            dt = datetime.fromtimestamp(int(value[:10]), UTC)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unknown zone names ("EST") parse as naive
                dt = dateparser.parse(value, fuzzy=False, tzinfos=_TZINFOS)
    except (ValueError, OverflowError, TypeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    dt = dt.astimezone(UTC)
    if not 1990 <= dt.year <= datetime.now(UTC).year + 1:
        return None
    return dt


def date_from_text(text: str, default_tz: timezone = CHINA_TZ) -> datetime | None:
    """First 'YYYY年M月D日 HH:MM' / 'YYYY-MM-DD HH:MM' (or an English date) in text."""
    m = _ZH_DATE.search(text)
    if m:
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        try:
            dt = datetime(y, mo, d, h, mi, s, tzinfo=default_tz).astimezone(UTC)
        except ValueError:
            dt = None
        if dt and 1990 <= dt.year <= datetime.now(UTC).year + 1:
            return dt
    m = _EN_DATE.search(text)
    if m:
        return to_utc(m.group(0), UTC)
    return None


def published_from_tree(root: lxml.html.HtmlElement, meta: dict[str, str], raw_html: str,
                        default_tz: timezone) -> datetime | None:
    for key in _DATE_KEYS:
        if key in meta:
            dt = to_utc(meta[key], default_tz)
            if dt:
                return dt
    if "datePublished" in raw_html:
        m = _JSONLD_DATE.search(raw_html)
        if m:
            dt = to_utc(m.group(1), default_tz)
            if dt:
                return dt
    for el in root.xpath("//*[@itemprop='datePublished'] | //time[@datetime]"):
        dt = to_utc(el.get("datetime") or el.get("content") or el.text_content(), default_tz)
        if dt:
            return dt
    return None


def author_from_meta(meta: dict[str, str], raw_html: str) -> str | None:
    for key in _AUTHOR_KEYS:
        v = _clean(meta.get(key))
        if v and not v.startswith(("http://", "https://", "@")) and len(v) <= 80:
            return v
    if '"author"' in raw_html:
        m = _JSONLD_AUTHOR.search(raw_html)
        if m:
            v = _clean(m.group(1) or m.group(2))
            if v and not v.startswith("http"):
                return v
    return None


def author_from_text(text: str) -> str | None:
    m = _ZH_AUTHOR.search(text)
    if m:
        return m.group(1) or m.group(2)
    m = _EN_AUTHOR.search(text)
    return m.group(1) if m else None


def title_of(root: lxml.html.HtmlElement, meta: dict[str, str]) -> str:
    """og:title, else the <h1> that matches <title>, else <title> without the site suffix."""
    for key in _TITLE_KEYS:
        v = _clean(meta.get(key))
        if v:
            return v
    t = root.find(".//title")
    title = _clean(t.text_content()) if t is not None else ""
    for h in root.iter("h1"):
        ht = _clean(h.text_content())
        if ht and (not title or ht in title or len(root.xpath("//h1")) == 1):
            return ht
        break
    if title:
        parts = [p for p in _TITLE_SPLIT.split(title) if p.strip()]
        if len(parts) > 1:
            return max(parts, key=len).strip()
    return title


def title_variants(root: lxml.html.HtmlElement, meta: dict[str, str]) -> list[str]:
    """Every form the headline takes on the page (og:title, <title>, first <h1>)."""
    out = [_clean(meta.get(k)) for k in _TITLE_KEYS]
    t = root.find(".//title")
    if t is not None:
        title = _clean(t.text_content())
        out.append(title)
        out.extend(p.strip() for p in _TITLE_SPLIT.split(title))
    h1 = next(root.iter("h1"), None)
    if h1 is not None:
        out.append(_clean(h1.text_content()))
    return [x for x in out if x]


def language_of(text: str, html_lang: str | None) -> str | None:
    """'zh' when CJK ideographs dominate, 'ja'/'ko' for kana/hangul, else <html lang> or 'en'."""
    sample = text[:2500]
    cjk = len(_CJK_RE.findall(sample))
    kana = len(_KANA_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    if kana > 20 and kana * 5 > cjk:
        return "ja"
    if hangul > 20 and hangul > cjk:
        return "ko"
    if cjk and cjk * 3 >= latin:  # an ideograph carries about as much as a short word
        return "zh"
    lang = (html_lang or "").strip().lower().replace("_", "-").split("-")[0]
    if lang and lang.isalpha() and len(lang) <= 3 and lang != "zh":
        return lang
    if latin:
        return "en"
    return lang or None
