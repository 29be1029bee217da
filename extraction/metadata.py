"""Page metadata: title, publication date, author, language (meta tags, JSON-LD, <time>,
and Chinese/English patterns in the text)."""

from __future__ import annotations

import json
import re
import sys
import warnings
from bisect import bisect_right
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate, islice

import lxml.html
from dateutil import parser as dateparser

from .select import PageEvidence, unspaced

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

# "2005年3月21日 01:20", "2005-03-21 01:20:44", "2005/3/21": one separator throughout, so an
# archive's "12/01/2004 - 01/01/2005" is no date "2004-01-01"
_ZH_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*日?"
    r"|(?P<sep>[/\-.])\s*(?P<m2>\d{1,2})\s*(?P=sep)\s*(?P<d2>\d{1,2})(?!\d))"
    r"(?:\s*(?:[T ]|\s)\s*(?P<h>\d{1,2})\s*[:：时]\s*(?P<mi>\d{1,2})"
    r"(?:\s*[:：分]\s*(?P<s>\d{1,2}))?)?")
_EN_DATE = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? (?:19|20)\d{2}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]* (?:19|20)\d{2}\b")


class _Guarded:
    """A pattern searched only where one of the literals every match holds occurs: most
    pages have none (an English page has no Chinese byline), and ``str.find`` is cheap."""

    def __init__(self, pattern: re.Pattern[str], *needles: str) -> None:
        self.pattern, self.needles = pattern, needles

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if any(text.find(needle, pos, endpos) >= 0 for needle in self.needles):
            return self.pattern.search(text, pos, endpos)
        return None


# one or more Chinese names, space-separated ("王建宏 张文攀"); a place before 报道 is no name
_NAMES = (r"[\u4e00-\u9fff·]{2,4}(?:[ \u3000]+(?![\u4e00-\u9fff]{2,8}报道)"
          r"[\u4e00-\u9fff·]{2,4}(?![\u4e00-\u9fff·])){0,5}")
_ZH_AUTHOR = _Guarded(re.compile(
    r"(?:作者|撰文|撰稿|记者|(?<![\u4e00-\u9fff])文)\s*[:：|丨]\s*"
    r"((?:[\u4e00-\u9fff·]{2,10}|[A-Za-z][A-Za-z .'\-]{1,30}[A-Za-z])"
    r"(?:[ \u3000]+[\u4e00-\u9fff·]{2,4}(?![\u4e00-\u9fff·])){0,5})"
    r"(?=$|[\s,，。;；()（）\[\]【】|丨/])"
    r"|(?:^|\s)(?:本报记者|记者)\s+([\u4e00-\u9fff]{2,4})(?=\s|$)"), "作者", "撰稿", "记者", "文")
# a line that starts with the reporters: "光明日报记者 王建宏 张文攀", "□ 本报记者 葛灵丹",
# "新京报记者 彭冲 山东冠县报道", "河南商报记者马俊峰/文"
_ZH_REPORTER_LINE = _Guarded(re.compile(
    r"^(?:[^\S\n]|[□■●·])*[\u4e00-\u9fff·]{0,10}记者(?:[ \u3000]+(" + _NAMES + r")"
    r"(?=[ \u3000]*(?:$|/文|/摄|发自|[ \u3000][\u4e00-\u9fff]{2,8}报道))"
    r"|(" + _NAMES + r")(?=/文|/摄|发自))", re.M), "记者")
# the article's last line is its reporters' names in brackets: "（袁源）", "（常书香 马丹阳 ）"
_ZH_NAMES_AT_END = re.compile(r"[(（][ \u3000]*(" + _NAMES + r")[ \u3000]*[)）]\s*$")
_NOT_A_NAME_END = tuple("社网报台部局委院会办处所厅站完图摄组稿")
# the editor, when nothing names an author: "责任编辑：刘林源", "编辑:刘欢"
_ZH_EDITOR = _Guarded(re.compile(
    r"编辑[ \t\u3000]*[:：][ \t\u3000]*([\u4e00-\u9fff]{2,4})(?![\u4e00-\u9fff])"), "编辑")
# bylines inside or after the text: "（总台记者 张倩）", "本报记者罗科苏盈发自北京", "（姚峰 上海报道）"
_ZH_BYLINE = _Guarded(re.compile(
    r"[(（]\s*(?:[\u4e00-\u9fff]{0,6}记者|通讯员)\s*([\u4e00-\u9fff]{2,4})\s*[)）]"
    r"|(?:本报|本刊)?记者\s*([\u4e00-\u9fff]{2,4}?)\s*(?:发自|报道)"
    r"|[(（]\s*([\u4e00-\u9fff]{2,4})\s+[\u4e00-\u9fff]{2,4}报道\s*[)）]"), "记者", "通讯员", "报道")
# what a meta "author" holds when it is the site or its software, not a person
_PUBLISHER_LIKE = re.compile(
    r"www\.|\.(?:com|cn|net|org)\b|[,，].*[,，]|(?:网|网络|传媒|媒体|报|社|集团|公司|出版社|Team|Inc\.?|Ltd\.?)$",
    re.I)
# a user id, not a name: "L_104485"
_CODE_LIKE = re.compile(r"\d|_")
_EN_AUTHOR = _Guarded(re.compile(
    r"^\s*By\s+([A-Z][\w.'\-]+(?:\s+(?:[A-Z][\w.'\-]+|and|de|van|von)){0,4})", re.M), "By")
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
        g = m.groupdict()
        y, mo, d, h, mi, s = (int(g[k] or 0) for k in ("y", "m1", "d1", "h", "mi", "s"))
        if g["sep"]:
            mo, d = int(g["m2"]), int(g["d2"])
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


# a date the page labels as its publication: "发布时间：2015-11-05", "时间：", "Posted on"
_DATE_LABEL = re.compile(
    r"(?:发布时间|发布日期|发表时间|发表日期|发布于|发表于|时间|日期|Published(?: on)?|Posted(?: on)?)"
    r"\s*[:：]?\s*(?=(?:19|20)\d{2}\s*[年/\-.]|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec))")


def date_of_page(page_text: str, title: str, default_tz: timezone = CHINA_TZ) -> datetime | None:
    """The first date right after the headline, else one the text labels as the
    publication's, else the first date at the top of the page."""
    at = page_text.find(title) if len(title) >= 4 else -1
    if at >= 0:
        end = at + len(title)
        dt = date_from_text(page_text[end:end + 600], default_tz)
        if dt:
            return dt
    for m in _DATE_LABEL.finditer(page_text):
        dt = date_from_text(page_text[m.end():m.end() + 40], default_tz)
        if dt:
            return dt
    return date_from_text(page_text[:5000], default_tz)


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


def _person(v: str) -> bool:
    return (bool(v) and not v.startswith(("http://", "https://", "@")) and len(v) <= 80
            and not _PUBLISHER_LIKE.search(v) and not _CODE_LIKE.search(v))


def _unescape_json(v: str) -> str:
    if "\\" not in v:
        return v
    try:
        return json.loads(f'"{v}"')
    except ValueError:
        return v


def author_from_meta(meta: dict[str, str], raw_html: str) -> str | None:
    """A person named by the meta tags or JSON-LD; site names and software are no author."""
    for key in _AUTHOR_KEYS:
        v = _clean(meta.get(key))
        if _person(v):
            return v
    if '"author"' in raw_html:
        m = _JSONLD_AUTHOR.search(raw_html)
        if m:
            v = _clean(_unescape_json(m.group(1) or m.group(2)))
            if _person(v):
                return v
    return None


def _spaced(names: str) -> str:
    return " ".join(names.split())


def author_from_text(page_text: str, article_text: str = "") -> str | None:
    """A byline in the page's text down to the article's start (a labelled author, then a
    line of reporters), or inside / at the end of the article's text; the editor when
    nothing else names anyone."""
    probe = article_text.lstrip().split("\n", 1)[0][:15]
    start = page_text.find(probe) if probe else -1
    head = page_text[:max(3000, min(start + 300, 20000))]
    m = _ZH_AUTHOR.search(head)
    if m:
        return _spaced(m.group(1) or m.group(2))
    m = _ZH_REPORTER_LINE.search(head) or _ZH_REPORTER_LINE.search(article_text[-300:])
    if m:
        return _spaced(m.group(1) or m.group(2))
    for source in (head, article_text[-300:], article_text[:300]):
        m = _ZH_BYLINE.search(source)
        if m:
            return next(g for g in m.groups() if g)
    m = _ZH_NAMES_AT_END.search(article_text[-60:])
    if m and not any(n.endswith(_NOT_A_NAME_END) for n in m.group(1).split()):
        return _spaced(m.group(1))
    m = _EN_AUTHOR.search(head)
    if m:
        return m.group(1)
    end = start + len(article_text) + 1000  # a credit line right after the text
    m = _ZH_AUTHOR.search(page_text, len(head), end) if start >= 0 else None
    if m:
        return _spaced(m.group(1) or m.group(2))
    m = _ZH_EDITOR.search(article_text[-300:]) or _ZH_EDITOR.search(page_text)
    return m.group(1) if m else None


def _headline_like(v: str) -> bool:
    return bool(v) and "<" not in v and len(v) <= 300


# a heading that names the site rather than the story: the logo link, the page header
_SITE_BOX = re.compile(r"logo|masthead|banner|brand|header|site-?name|site-?title", re.I)


def _bare(s: str) -> str:
    return "".join(ch for ch in s.casefold() if ch.isalnum())


def _site_heading(h: lxml.html.HtmlElement) -> bool:
    """The heading is the site's name: a link to the home page, or inside a logo/header box."""
    links = h.findall(".//a")
    if len(links) == 1 and (links[0].get("href") or "").strip() in ("/", "./", "index.html"):
        return True
    for el in (h, *h.iterancestors()):
        if el.tag in ("article", "main", "body"):
            break
        if _SITE_BOX.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
            return True
    return False


def page_title(root: lxml.html.HtmlElement, meta: dict[str, str]) -> tuple[str, bool]:
    """og:title, else the <h1>-<h3> that <title> holds (not the site's name in a logo or page
    header), else the only <h1>, else <title> without the site suffix, else the first
    <h1>/<h2>. Markup leaked into a title is no title. And whether the title is unconfirmed:
    only the page's <title> (no meta tag or heading says the same), or nothing. Such a title
    is often the site's or the section's name ("News", "NBA News, Rumors and Information");
    :func:`headline_above` may do better once the article's text is known."""
    for key in _TITLE_KEYS:
        v = _clean(meta.get(key))
        if _headline_like(v):
            return v, False
    t = root.find(".//title")
    title = _clean(t.text_content()) if t is not None else ""
    if not _headline_like(title):
        title = ""
    h1s = root.xpath("//h1")
    if title:
        bare_title = _bare(title)
        for tag in ("h1", "h2", "h3"):
            for h in list(root.iter(tag))[:12]:
                ht = _clean(h.text_content())
                if len(_bare(ht)) >= 4 and _bare(ht) in bare_title and not _site_heading(h):
                    return ht, False
    if len(h1s) == 1:
        ht = _clean(h1s[0].text_content())
        if ht and not _site_heading(h1s[0]):
            return ht, False
    if title:
        parts = [p for p in _TITLE_SPLIT.split(title) if p.strip()]
        if len(parts) > 1:  # "Headline | Site": the site's name is not all it says
            return max(parts, key=len).strip(), False
        return title, True
    for h in root.iter("h1", "h2"):
        ht = _clean(h.text_content())
        if _headline_like(ht):
            return ht, False
    return "", True


_LOOKBACK = 6
"""Text lines above the article's first line that are searched for its headline."""
_NOT_HEADLINE = re.compile(
    r"(?:by|posted|updated|published|filed|written|photo|image|source|last)\b"
    r"|\(?(?:ap|afp|reuters)\)?$|(?:来源|作者|记者|编辑|发布|时间)", re.I)


_PROMINENT_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "b", "strong", "big"))
_PROMINENT_BOX = re.compile(r"title|headline|heading|\bhed\b|font-size|font-weight", re.I)


def _prominent(el: lxml.html.HtmlElement) -> bool:
    """Set apart as a heading: a heading or bold tag, or a box whose class, id or style says
    title, headline or a font size (within two levels of the text)."""
    for node in (el, *islice(el.iterancestors(), 2)):
        if node.tag in _PROMINENT_TAGS or _PROMINENT_BOX.search(
                f"{node.get('class') or ''} {node.get('id') or ''} {node.get('style') or ''}"):
            return True
    return False


def text_lines(body: lxml.html.HtmlElement) -> list[tuple[str, bool]]:
    """The body's text nodes in order, each with whether it stands out as a heading would
    (and is no link's text): the lines :func:`headline_above` reads, taken before the
    main-text search changes the tree."""
    lines = []
    for text in body.xpath(".//text()"):
        owner = text.getparent()
        if owner is not None and text.is_tail:
            owner = owner.getparent()
        candidate = (owner is not None and bool(text.strip()) and owner.tag != "a"
                     and next(owner.iterancestors("a"), None) is None and _prominent(owner))
        lines.append((str(text), candidate))
    return lines


_MONTH_AND_YEAR = re.compile(
    r"(?=.*\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)(?=.*\b(?:19|20)\d\d\b)",
    re.I)


def _headline_line(line: str) -> bool:
    """A line that reads as a headline: 3-25 words (6-60 ideographs) starting with a letter,
    digit or quote, no sentence or clause end, no byline, credit or date."""
    cjk = len(_CJK_RE.findall(line))
    size_ok = 6 <= cjk <= 60 if cjk >= 6 else 3 <= len(line.split()) <= 25
    return (size_ok and (line[0].isalnum() or line[0] in "\"'“‘「《(")
            and not line.endswith((".", "。", ",", "，", ":", "：", ";", "；"))
            and not _NOT_HEADLINE.match(line) and not _MONTH_AND_YEAR.match(line)
            and date_from_text(line, UTC) is None)


def _names_title(line: str, title: str) -> bool:
    """The line is the page's <title> (or one of its parts), or most of it."""
    bare, whole = _bare(line), _bare(title)
    return bool(bare) and (bare in {_bare(p) for p in _TITLE_SPLIT.split(title)}
                           or (bare in whole and len(bare) >= 0.6 * len(whole)))


_TITLE_WORD = re.compile(r"[\u3400-\u9fff]|[^\W\d_]{3,}")


def _told_by_text(title: str, article_text: str) -> bool:
    """Most of the title's words (ideographs) are in the article's opening: it names the
    story, not the site. One or two words prove nothing (the text may name the site)."""
    words = {w.casefold() for w in _TITLE_WORD.findall(title)}
    if len(words) < 3:
        return False
    opening = {w.casefold() for w in _TITLE_WORD.findall(article_text[:3000])}
    return len(words & opening) >= 0.6 * len(words)


def headline_above(lines: list[tuple[str, bool]], article_text: str, title: str,
                   page: PageEvidence) -> str | None:
    """The headline right above the article's text, for a page whose <title> no heading
    confirms: the nearest line among the few above the article's first line that stands out
    as a heading and reads as a headline; none when the <title> itself comes first (it is
    the headline, in plain markup). ``page`` is the evidence of the same page's text."""
    # the first paragraph: a headline or byline kept at the top of the text is above it too
    paragraphs = [line for line in article_text.split("\n") if len(line) >= 25]
    first = next((line for line in paragraphs if len(line) >= 80), paragraphs[0] if paragraphs
                 else None)
    if first is None or _told_by_text(title, article_text):
        return None
    start = page.start_of(first)
    if start < 0:
        return None
    at = bisect_right(list(accumulate(len(unspaced(text)) for text, _ in lines)), start)
    near = []  # the last few non-empty lines above the one the text starts in, nearest first
    for text, candidate in reversed(lines[:at]):
        if text.strip():
            near.append((_clean(text), candidate))
            if len(near) == _LOOKBACK:
                break
    if any(candidate and _names_title(line, title) for line, candidate in near):
        return None
    return next((line for line, candidate in near if candidate and _headline_line(line)), None)


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
