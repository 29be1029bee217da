"""Line-level clean-up of extracted text: copyright/disclaimer/editor lines, related-link
tails, share/app prompts and paywall notices, for Chinese and English pages."""

from __future__ import annotations

import re
from collections.abc import Iterable

from newswatch.boilerplate import BOILERPLATE_LINE
from newswatch.boilerplate import MAX_CHARS as BOILERPLATE_MAX_CHARS

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
_SHORT_LINE = 36
_PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")


def _is_cjk_heavy(line: str) -> bool:
    return sum(1 for c in line[:40] if "\u4e00" <= c <= "\u9fff") > 4


# bylines, datelines and labels above the text
_LEAD_NOISE = re.compile(
    r"^(?:By\s.{1,60}|Updated|Published|Editorial|Opinion|Analysis|Advertisement"
    r"|.{0,30}(?:19|20)\d\d[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,2}.{0,40}"
    r"|.{0,20}\d{1,2}:\d{2}\s*(?:am|pm|a\.m\.|p\.m\.)?.{0,40}(?:19|20)\d\d.{0,10}"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? .{0,40}(?:19|20)\d\d.{0,20})$", re.I)
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", "”", "\"", "…", "」", "』", ")", "）", ":", "：")


def _paragraph_like(line: str) -> bool:
    return len(line) >= 80 or (_is_cjk_heavy(line) and len(line) >= 30)


def _trim_edges(lines: list[str], titles: set[str]) -> list[str]:
    """Drop the title line and short unpunctuated lines (bylines, dates, labels, link lists)
    before the first and after the last paragraph-like line."""
    paras = [i for i, x in enumerate(lines) if _paragraph_like(x)]
    if not paras:
        return [x for x in lines if x not in titles]
    first, last = paras[0], paras[-1]
    head = [x for x in lines[:first] if x not in titles and not _LEAD_NOISE.match(x)]
    tail = lines[last + 1:]
    if len(tail) >= 3 and _is_cjk_heavy(lines[last]) and not any(x.endswith(_SENTENCE_END) or len(x) > 30 for x in tail):
        tail = []  # a run of bare short lines after the text: links, tags, author box
    return head + lines[first:last + 1] + tail


def strip_pinyin(text: str) -> str:
    """Remove pinyin glosses some sites put after every hard character: 準(zhǔn)."""
    if len(_PINYIN.findall(text, 0, 5000)) < 3:
        return text
    return _PINYIN.sub("", text)


def filter_lines(text: str, titles: Iterable[str] = ()) -> str:
    """Drop boilerplate lines from normalised text (one paragraph per line); lines equal to
    one of `titles` (the headline) are dropped from the top."""
    text = strip_pinyin(text)
    lines = _trim_edges(text.split("\n"), {t.strip() for t in titles if t.strip()})
    out: list[str] = []
    seen: set[str] = set()
    n = len(lines)
    for i, line in enumerate(lines):
        if _PAYWALL.match(line):
            break
        if len(line) > 70:  # long lines only: headings and Q&A prompts do repeat
            if line in seen:  # repeated captions and slideshow labels
                continue
            seen.add(line)
        if _TAIL_HEADING.match(line) and i >= n // 3:
            rest = lines[i + 1:]
            if all(len(x) <= _SHORT_LINE * (1 if _is_cjk_heavy(x) else 2.5) for x in rest[:12]):
                break  # a link list follows: cut the tail here
            continue
        if len(line) <= _MAX_DROP_LEN and _DROP_LINE.match(line):
            continue
        out.append(line)
    return "\n".join(out)
