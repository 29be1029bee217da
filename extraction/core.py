"""Main-content selection: readability-lxml's scoring on our own pre-cleaned tree.

The subclass skips readability's own parse, lxml Cleaner and link rewriting (about half of
its time), replaces its quadratic div->p pass with a one-pass version, and returns the
chosen subtree instead of serialised HTML.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import lxml.html
from readability import Document

from newswatch.text import nfkc

from .htmltree import COMMENTS_MARK, clean_tree, drop_from, node_text

# readability's divToPElementsRe matches "<" + one of these at the start of any descendant tag
_BLOCKISH_PREFIXES = ("blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul")
_INLINE = frozenset("a b cite code em font i small span strong sub sup u".split())


def _has_blockish(el: lxml.html.HtmlElement) -> bool:
    for d in el.iterdescendants():
        t = d.tag
        if isinstance(t, str) and t.startswith(_BLOCKISH_PREFIXES):
            return True
    return False


def _tlen(text: str | None) -> int:
    """Length with whitespace runs counted as one character (readability's clean())."""
    words = text.split() if text else None
    return sum(map(len, words)) + len(words) - 1 if words else 0  # no joined copy made


def _paragraph_score(text: str, length: int) -> float:
    """readability's paragraph score (1 + commas + 1 + length bonus) with the Chinese "，"
    and "、" counted as commas, except in a block with no sentence end (。！？): that is a
    list (other stories' headlines, tags), not prose, and scores as a bare block, however
    many headlines it strings together."""
    cjk = text.count("，") + text.count("、")
    if cjk > 3 and "。" not in text and "！" not in text and "？" not in text:
        return 1 + text.count(",")
    return 2 + text.count(",") + cjk + min(length / 100, 3)


def _text_share(el: lxml.html.HtmlElement, total: int) -> float:
    return _tlen(el.text_content()) / total if total else 0.0


def _too_many_images(el: lxml.html.HtmlElement) -> bool:
    """readability's 'too many images' clean-up rule."""
    paragraphs = sum(1 for _ in el.iter("p"))
    return bool(paragraphs) and sum(1 for _ in el.iter("img")) > 1 + paragraphs * 1.3


_WORD = re.compile(r"[^\W\d_\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]{2,}")


def _own_words(el: lxml.html.HtmlElement) -> int:
    """Words (of an alphabetic script) of an element's text outside its links. Chinese text
    is not measured here: no page on the bench has a Chinese list of this kind, and the
    comment streams of Chinese forums (name, time, counts) look like one."""
    words = len(_WORD.findall(el.text_content() or ""))
    return words - sum(len(_WORD.findall(a.text_content() or ""))
                       for a in el.iterdescendants("a"))


def _items_say_more_than_links(lst: lxml.html.HtmlElement, min_words: int = 4) -> bool:
    """Most items of a list carry words of their own besides a link: a list that is part of
    the text (deals with their prices, links each with a comment), not a list of headlines."""
    items = [li for li in lst if li.tag == "li"]
    if not items:
        return False
    saying = sum(1 for li in items if _own_words(li) >= min_words)
    return saying * 2 >= len(items)


_PROSE_BLOCKS = frozenset(("div", "section", "table", "article"))


def _prose_paragraphs(el: lxml.html.HtmlElement, min_len: int = 100) -> dict:
    """The paragraphs of prose in el (outside lists, mostly not links): p -> length."""
    found = {}
    for p in el.iter("p"):
        if next(p.iterancestors("li"), None) is not None:
            continue
        text = _tlen(p.text_content())
        if text >= min_len:
            links = sum(_tlen(a.text_content()) for a in p.iterdescendants("a"))
            if links < 0.25 * text:
                found[p] = text
    return found


def _br_separated(el: lxml.html.HtmlElement, min_breaks: int = 2, min_len: int = 140) -> bool:
    """Text broken into lines by at least min_breaks direct <br> children, long enough to be
    a body rather than an address block."""
    breaks = sum(1 for c in el if c.tag == "br")
    return breaks >= min_breaks and _tlen(el.text_content()) >= min_len


def _split_into_paragraphs(elem: lxml.html.HtmlElement) -> None:
    """readability's div pass: loose text and runs of inline children become <p>s; <br>s go."""
    children = list(elem)
    paragraph = None
    if elem.text and elem.text.strip():
        p = elem.makeelement("p", {})
        p.text = elem.text
        elem.text = None
        elem.insert(0, p)
        paragraph = p
    for child in children:
        tag = child.tag
        if tag == "br":
            paragraph = None
            continue
        if tag not in _INLINE or _has_blockish(child):
            paragraph = None
            continue
        if paragraph is None:
            paragraph = elem.makeelement("p", {})
            child.addprevious(paragraph)
        paragraph.append(child)
    for pos, child in reversed(list(enumerate(elem))):
        if child.tail and child.tail.strip():
            p = elem.makeelement("p", {})
            p.text = child.tail
            child.tail = None
            elem.insert(pos + 1, p)
        if child.tag == "br":
            child.drop_tree()


def _cut_at_comments(root: lxml.html.HtmlElement, min_before: int = 200) -> None:
    """Drop a comments marker and everything after it, once the text before it is long
    enough to be the article (a marker next to the byline is no end)."""
    if next(root.iter(COMMENTS_MARK), None) is None:
        return
    seen = 0
    for el in root.iter():
        if el.tag == COMMENTS_MARK:
            if seen < min_before:
                continue
            drop_from(el, root)
            return
        if isinstance(el.tag, str):
            seen += _tlen(el.text)
        if el is not root:
            seen += _tlen(el.tail)


class FastDocument(Document):
    """readability.Document working on an already parsed, uncleaned tree (which it copies)."""

    def __init__(self, root: lxml.html.HtmlElement, reparse: Callable[[], Any], **kw):
        super().__init__("", **kw)
        self._root = root
        self._reparse = reparse
        self._passes = 0
        self._best = None

    def _parse(self, input):  # readability's signature; input is unused
        self._passes += 1
        ruthless = self._passes == 1
        # the first pass mutates the tree; the lenient retry (rare) starts from a fresh parse
        doc = self._root if ruthless else self._reparse()
        if doc is None:
            raise ValueError("page has no parsable HTML")
        clean_tree(doc, ruthless=ruthless)
        return doc

    def get_link_density(self, elem):
        links = sum(_tlen(a.text_content()) for a in elem.iterdescendants("a"))
        return links / max(_tlen(elem.text_content()), 1)

    def score_paragraphs(self):
        min_len = self.min_text_length
        candidates: dict = {}
        ordered = []
        for elem in self.tags(self._html(), "p", "pre", "td", "blockquote"):
            parent = elem.getparent()
            if parent is None:
                continue
            grand = parent.getparent()
            inner = elem.text_content() or ""
            inner_len = _tlen(inner)
            if inner_len < min_len:
                continue
            if parent not in candidates:
                candidates[parent] = self.score_node(parent)
                ordered.append(parent)
            if grand is not None and grand not in candidates:
                candidates[grand] = self.score_node(grand)
                ordered.append(grand)
            score = _paragraph_score(inner, inner_len)
            candidates[parent]["content_score"] += score
            if grand is not None:
                candidates[grand]["content_score"] += score / 2.0
        for elem in ordered:
            candidates[elem]["content_score"] *= 1 - self.get_link_density(elem)
        return candidates

    def get_preserved_elements(self, node):
        """Also never drop, in readability's clean-up, the block that holds most of the article
        for having more images than paragraphs (an illustrated post), nor a list that is part
        of the text: one the text leads into with a colon, or, when lists are much of the
        article (a round-up of links or deals), lists whose items say more than their links."""
        allowed = super().get_preserved_elements(node)
        best = self._best
        if best is None:
            return allowed
        total = _tlen(best.text_content())
        if total < 200:
            return allowed
        lists = list(self.tags(best, "ul", "ol"))
        if self.get_link_density(best) < 0.25:
            for el in [best, *self.tags(best, "div", "section", "table")]:
                if (_too_many_images(el) and _text_share(el, total) >= 0.4
                        and self.get_link_density(el) < 0.25):
                    allowed[el] = True
            for el in lists:
                lead = el.getprevious()
                if lead is not None and (lead.text_content() or "").strip().endswith((":", "：")):
                    allowed[el] = True  # "Top deals:", "要点如下："
        prose = _prose_paragraphs(best)
        total_prose = sum(prose.values())
        if total_prose >= 100:
            # the block that holds most of the article's prose is no side box, however many
            # links follow the prose in it (a gallery, a list of related posts)
            inside: dict = defaultdict(int)
            for p, n in prose.items():
                for el in p.iterancestors():
                    inside[el] += n
                    if el is best:
                        break
            for el, n in inside.items():
                if n * 2 >= total_prose and (el is best or el.tag in _PROSE_BLOCKS):
                    allowed[el] = True
        saying = [el for el in lists if _items_say_more_than_links(el)]
        if saying and sum(_text_share(el, total) for el in saying) >= 1 / 3 and prose:
            for el in saying:
                allowed[el] = True
        return allowed

    def select_best_candidate(self, candidates):
        best = super().select_best_candidate(candidates)
        self._best = best["elem"] if best else None
        return best

    def remove_unlikely_candidates(self):
        pass  # done by clean_tree(ruthless=True)

    def transform_misused_divs_into_paragraphs(self):
        for elem in list(self.html.iter("div")):
            if not _has_blockish(elem):
                elem.tag = "p"
        for elem in list(self.html.iter("span", "font", "td")):
            # a body written as <br>-separated text in a span or table cell: paragraphs
            # (inside a <p> the breaks are the paragraph's own)
            if _br_separated(elem) and next(elem.iterancestors("p"), None) is None:
                if elem.tag != "td":
                    elem.tag = "div"
                _split_into_paragraphs(elem)
        for elem in list(self.html.iter("div")):
            _split_into_paragraphs(elem)

    def get_article(self, candidates, best_candidate, html_partial=False):
        """readability's article, without the siblings that follow a comments marker."""
        best = best_candidate["elem"]
        for sibling in best.itersiblings():
            if sibling.tag == COMMENTS_MARK:
                for later in list(sibling.itersiblings()):
                    later.getparent().remove(later)
                break
        return super().get_article(candidates, best_candidate, html_partial)

    def get_clean_html(self):
        _cut_at_comments(self.html)
        self.link_texts = frozenset(
            " ".join(nfkc(a.text_content()).split())
            for a in self.html.iter("a"))
        return node_text(self.html)


def main_text(root: lxml.html.HtmlElement, reparse: Callable[[], Any],
              min_text_length: int = 25, retry_length: int = 100
              ) -> tuple[str, frozenset[str]]:
    """Text (block newlines kept, not normalised) of the main content of a parsed page, and
    the NFKC texts of the links in it.

    root is consumed (mutated); reparse() must return a fresh tree of the same page."""
    doc = FastDocument(root, reparse, min_text_length=min_text_length,
                       retry_length=retry_length)
    doc.link_texts = frozenset()
    text = doc.summary(html_partial=True)
    return text, doc.link_texts
