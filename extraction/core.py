"""Main-content selection: readability-lxml's scoring on our own pre-cleaned tree.

The subclass skips readability's own parse, lxml Cleaner and link rewriting (about half of
its time), replaces its quadratic div->p pass with a one-pass version, and returns the
chosen subtree instead of serialised HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lxml.html
from readability import Document

from .htmltree import clean_tree, node_text

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
    if not text:
        return 0
    return len(" ".join(text.split()))


def _commas(text: str) -> int:
    return text.count(",") + text.count("，") + text.count("、")


class FastDocument(Document):
    """readability.Document working on an already parsed, uncleaned tree (which it copies)."""

    def __init__(self, root: lxml.html.HtmlElement, reparse: Callable[[], Any], **kw):
        super().__init__("", **kw)
        self._root = root
        self._reparse = reparse
        self._passes = 0

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
            score = 1 + _commas(inner) + 1 + min(inner_len / 100, 3)
            candidates[parent]["content_score"] += score
            if grand is not None:
                candidates[grand]["content_score"] += score / 2.0
        for elem in ordered:
            candidates[elem]["content_score"] *= 1 - self.get_link_density(elem)
        return candidates

    def remove_unlikely_candidates(self):
        pass  # done by clean_tree(ruthless=True)

    def transform_misused_divs_into_paragraphs(self):
        for elem in list(self.html.iter("div")):
            if not _has_blockish(elem):
                elem.tag = "p"
        for elem in list(self.html.iter("div")):
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

    def get_clean_html(self):
        return node_text(self.html)


def main_text(root: lxml.html.HtmlElement, reparse: Callable[[], Any],
              min_text_length: int = 25, retry_length: int = 100) -> str:
    """Text (block newlines kept, not normalised) of the main content of a parsed page.

    root is consumed (mutated); reparse() must return a fresh tree of the same page."""
    doc = FastDocument(root, reparse, min_text_length=min_text_length,
                       retry_length=retry_length)
    return doc.summary(html_partial=True)
