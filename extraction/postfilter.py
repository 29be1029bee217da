"""Line-level clean-up of extracted text: copyright/disclaimer/editor lines, related-link
tails, share/app prompts and paywall notices, for Chinese and English pages.

Every rule decides on the NFKC form of a line (full-width punctuation folded) and keeps or
drops the line as the page wrote it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from newswatch.boilerplate import BOILERPLATE_LINE
from newswatch.boilerplate import MAX_CHARS as BOILERPLATE_MAX_CHARS
from newswatch.text import nfkc

# a whole line that is boilerplate (checked on short lines only): the one list, newswatch.boilerplate
_DROP_LINE = BOILERPLATE_LINE
_MAX_DROP_LEN = BOILERPLATE_MAX_CHARS
# the end of a paywalled preview: the notice and whatever follows it (links, QR codes) go
_PAYWALL = re.compile(
    r"^.{0,10}(?:预览已结束|试读已结束|阅读全文请|登录后(?:阅读|查看)(?:全文|更多)?|付费阅读|完整(?:报告|内容|版)"
    r"(?:请|链接)|订阅后(?:阅读|查看)|(?:Subscribe|Log in|Sign in) to (?:continue|read)"
    r"|This (?:article|content) is (?:for|available to) (?:subscribers|members))", re.I)
# a heading after which the rest is a list of links (related/hot/friend links, comments)
_TAIL_HEADING = re.compile(
    r"^(?:相关阅读|相关文章|相关新闻|相关链接|推荐阅读|延伸阅读|热门推荐|猜你喜欢|热点推荐|热门文章|热门新闻"
    r"|精彩推荐|大家都在看|排行榜|网友评论|最新评论|发表评论|友情链接|Related(?: articles| stories| posts)?"
    r"|More from|Recommended|You may also like|Read next|Comments)\s*[:：>》]?\s*$", re.I)
# a blog's filing line after the post: categories, tags, labels ("Posted in News | Tagged ai")
_FILED = re.compile(r"^(?:Posted in|Filed (?:under|in)|Labels|Tagged(?: with| as)?|Categories|Category"
                    r"|Archived (?:under|in)|This entry was posted)\b", re.I)
_SHORT_LINE = 36
_PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])[(（](?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]")


def _is_cjk_heavy(line: str) -> bool:
    return sum(1 for c in line[:40] if "\u4e00" <= c <= "\u9fff") > 4


# bylines, datelines and labels above the text
_LEAD_NOISE = re.compile(
    r"^(?:By\s.{1,60}|Updated|Published|Editorial|Opinion|Analysis|Advertisement"
    r"|.{0,30}(?:19|20)\d\d[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,2}.{0,40}"
    r"|.{0,20}\d{1,2}:\d{2}\s*(?:am|pm|a\.m\.|p\.m\.)?.{0,40}(?:19|20)\d\d.{0,10}"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? .{0,40}(?:19|20)\d\d.{0,20})$", re.I)
# a breadcrumb trail: short segments joined by > › » / (首页 > 科技 > 正文), or a "you are here"
_BREADCRUMB = re.compile(
    r"^(?:(?:当前位置|您的位置|你的位置|所在位置|位置|You are here)\s*[:：]?.{0,60}"
    r"|[^>›»\n]{1,16}(?:\s*[>›»]\s*[^>›»\n]{1,24}){2,}\s*[>›»]?)$", re.I)
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", "”", "\"", "…", "」", "』", ")", "）", ":", "：")


def _paragraph_like(line: str) -> bool:
    return len(line) >= 80 or (_is_cjk_heavy(line) and len(line) >= 30)


_CLAUSE_MARKS = re.compile(r"[,;:，；：、]")


def _sentence_like(line: str) -> bool:
    """Ends like a sentence, is long, or has clause marks (and is no boilerplate line): a line
    that is part of the text."""
    return ((line.endswith(_SENTENCE_END) or len(line) > 30 or bool(_CLAUSE_MARKS.search(line)))
            and not _boilerplate(line))


def _boilerplate(line: str) -> bool:
    return len(line) <= _MAX_DROP_LEN and bool(_DROP_LINE.match(line))


def _trim_edges(lines: list[tuple[str, str]], titles: set[str],
                links: frozenset[str]) -> list[tuple[str, str]]:
    """Drop the title line, short unpunctuated lines (bylines, dates, labels) and breadcrumbs
    before the first paragraph-like line, and after the last one a run of three or more lines
    that are each a link (`links`: NFKC link texts of the block) or, after Chinese text, bare
    captions with no sentence in them. lines: (NFKC key, line)."""
    paras = [i for i, (k, _) in enumerate(lines) if _paragraph_like(k)]
    if not paras:
        return [x for x in lines if x[0] not in titles]
    first, last = paras[0], paras[-1]
    head = [x for x in lines[:first] if x[0] not in titles and not _LEAD_NOISE.match(x[0])
            and not _BREADCRUMB.match(x[0])]
    tail = lines[last + 1:]
    if len(tail) >= 3 and _is_cjk_heavy(lines[last][0]) and not any(
            _sentence_like(k) for k, _ in tail):
        tail = []  # a run of captions after the text: photos, tags
    run = len(tail)
    while run and tail[run - 1][0] in links:
        run -= 1
    if len(tail) - run >= 3:
        tail = tail[:run]  # a run of links at the end: other stories
    return head + lines[first:last + 1] + tail


def strip_pinyin(text: str) -> str:
    """Remove pinyin glosses some sites put after every hard character: 準(zhǔn)."""
    if len(_PINYIN.findall(text, 0, 5000)) < 3:
        return text
    return _PINYIN.sub("", text)


def filter_lines(text: str, titles: Iterable[str] = (), links: Iterable[str] = ()) -> str:
    """Drop boilerplate lines from tidied text (one paragraph per line); lines equal to
    one of `titles` (the headline, NFKC form) are dropped from the top; `links` are the
    NFKC texts of the links in the block the text came from."""
    text = strip_pinyin(text)
    lines = [(nfkc(x), x) for x in text.split("\n")]
    lines = _trim_edges(lines, {t.strip() for t in titles if t.strip()}, frozenset(links))
    out: list[str] = []
    seen: set[str] = set()
    n = len(lines)
    for i, (key, line) in enumerate(lines):
        if _PAYWALL.match(key):
            break
        if len(key) > 70:  # long lines only: headings and Q&A prompts do repeat
            if key in seen:  # repeated captions and slideshow labels
                continue
            seen.add(key)
        if _TAIL_HEADING.match(key) and i >= n // 3:
            rest = lines[i + 1:]
            if all(len(k) <= _SHORT_LINE * (1 if _is_cjk_heavy(k) else 2.5) for k, _ in rest[:12]):
                break  # a link list follows: cut the tail here
            continue
        if _boilerplate(key) or (i >= n // 2 and _FILED.match(key)):
            continue
        out.append(line)
    return "\n".join(out)
