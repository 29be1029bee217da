"""Choosing the page's text among candidates, by evidence on the page itself: how big each
candidate is, how much of one the other contains, and where each starts relative to the
headline in the page's text. Never by site.

The readability-based candidate ("ours") is the default; trafilatura is asked only when ours
looks doubtful (too short, starting before the headline, or far too long), which keeps the
extractor's mean cost near one candidate's."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import lxml.html

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")
SHORT = 50          # tokens: below this ours is doubtful (and no article unless plainly one)
LONG = 2500         # words (4 CJK characters count as one): above this ours may hold the
                    # comments or a whole blog page
_BEFORE_TITLE = 50  # folded characters of slack before the headline


def tokens(text: str) -> Counter:
    """CJK characters and other words, as a multiset."""
    return Counter(_TOKEN.findall(text))


def _cjk(toks: Counter) -> int:
    return sum(n for t, n in toks.items() if len(t) == 1 and "\u3400" <= t <= "\ufaff")


def _words(toks: Counter) -> float:
    """Size in words, 4 CJK characters counting as one."""
    cjk = _cjk(toks)
    return sum(toks.values()) - cjk + cjk / 4


def _too_long(toks: Counter) -> bool:
    """Long enough to hold comments or a whole blog page. Not asked of Chinese text: long
    Chinese pages on the bench are real articles, and trafilatura reads Chinese pages worse
    than ours (zh 0.87 / zh-dev 0.84 vs 0.95 / 0.94), so asking costs time for nothing."""
    return _words(toks) > LONG and _cjk(toks) * 2 < sum(toks.values())


def unspaced(text: str) -> str:
    """The text without any whitespace (how the page's text and a candidate are compared)."""
    return "".join(text.split())


def _same_headline(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    return short in long_ and len(short) >= 0.6 * len(long_)


@dataclass(slots=True)
class PageEvidence:
    """The page's text with all whitespace removed, and where the headline element sits in
    it (-1: no <h1>-<h3> on the page carries the headline)."""

    folded: str
    title_at: int

    @classmethod
    def of(cls, body: lxml.html.HtmlElement | None, page_text: str, title: str
           ) -> PageEvidence:
        folded = unspaced(page_text)
        key = unspaced(title)
        if body is None or len(key) < 4:
            return cls(folded, -1)
        for heading in body.iter("h1", "h2", "h3"):
            text = unspaced(heading.text_content())
            if text and _same_headline(text, key):
                before = heading.xpath("preceding::text()[ancestor::body]")
                return cls(folded, len(unspaced("".join(before))))
        return cls(folded, -1)

    def start_of(self, text: str) -> int:
        """Where the candidate's first real line (25+ characters) starts in the page's text;
        -1 when it is not found."""
        for line in text.split("\n"):
            if len(line) >= 25:
                return self.folded.find(unspaced(line)[:25])
        return -1

    def starts_before_title(self, text: str) -> bool:
        start = self.start_of(text)
        return self.title_at >= 0 and 0 <= start < self.title_at - _BEFORE_TITLE

    def starts_at_title(self, text: str) -> bool:
        """Starts after the headline (or the headline is nowhere in the page's text)."""
        if self.title_at < 0:
            return True
        return self.start_of(text) >= self.title_at - _BEFORE_TITLE


def doubtful(ours: Counter, page: PageEvidence, ours_text: str) -> bool:
    """Is ours in doubt enough to ask another candidate?"""
    n = sum(ours.values())
    return n < SHORT or _too_long(ours) or page.starts_before_title(ours_text)


def _contained(a: Counter, b: Counter) -> float:
    """Share of a's tokens that b also has."""
    n = sum(a.values())
    return sum((a & b).values()) / n if n else 0.0


def choose(ours_text: str, other_text: str, page: PageEvidence) -> tuple[str, str]:
    """(text, which) between ours and another candidate (trafilatura's)."""
    ours, other = tokens(ours_text), tokens(other_text)
    n_ours, n_other = sum(ours.values()), sum(other.values())
    if n_other < SHORT:
        return ours_text, "readability"
    if n_ours < SHORT or page.starts_before_title(ours_text):
        # ours found little, or a block above the headline; the other found something else
        # that starts at the headline
        if _contained(ours, other) < 0.5 and page.starts_at_title(other_text):
            return other_text, "trafilatura"
    if (_too_long(ours) and _contained(other, ours) >= 0.85 and n_other >= 100
            and n_ours >= 3 * n_other):
        # ours holds the other's text and much more: comments, a whole blog page
        return other_text, "trafilatura"
    return ours_text, "readability"
