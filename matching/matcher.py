"""One-pass matcher: which watches an article (title + text) matches, with a snippet.

``Matcher(watches)`` folds every ``terms`` / ``all`` / ``exclude`` entry of every watch
(``matching.fold``: NFKC, casefold, character-level traditional -> simplified) and puts the
distinct folded terms into ONE pyahocorasick automaton. ``match(title, text, outlet)`` folds
the title and the text the same way, scans each once, and evaluates the watches from the hits.

Term rules:

* A term matches the title or the text when its folded form occurs in the folded title or
  text: ``ＧＰＴ－４`` finds ``gpt-4``, ``數字人`` finds ``数字人`` and ``数字人`` finds ``數字人``.
* Word boundaries apply to Latin ends only. A *word character* is a letter or digit below
  U+0530 (Latin, Greek, Cyrillic; after folding, so full-width letters count). If a term
  starts with a word character, the character just before the hit must not be one; if it
  ends with one, the character just after must not be one. So ``GPT-4`` does not match in
  ``GPT-40``, ``XGPT-4`` or ``GPT-4o`` (a following letter breaks the boundary too), but
  matches in ``GPT-4,``, ``(GPT-4)``, ``GPT-4 Turbo`` and ``用GPT-4写``.
* CJK (and other) ends match anywhere: ``大模型`` matches inside ``多模态大模型的``.
  A mixed term such as ``GPT-4模型`` checks the boundary before ``G`` only.
* ``all`` and ``exclude`` terms use the same rules. ``regex`` entries are searched in the
  folded title and text (``re.IGNORECASE``; see ``rules.compile_watch_regex``).

A watch matches when at least one ``terms`` entry or ``regex`` hits (a watch with neither
only needs its ``all`` terms), every ``all`` term hits, no ``exclude`` term hits, and the
outlet is allowed (``outlet=None`` means unknown: the ``outlets`` limit is not applied).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import ahocorasick

from .fold import fold, fold_with_map, to_original
from .rules import Watch

__all__ = ["Match", "Matcher", "make_snippet", "is_word_char"]

SNIPPET_WIDTH = 60
ELLIPSIS = "…"


@dataclass(frozen=True)
class Match:
    watch: str  # watch name
    terms: tuple[str, ...]  # the terms / regexes that hit, spelt as in the config
    snippet: str  # about 60 characters either side of the first hit, from the original text
    first_offset: int | None  # index in the original text of the first hit; None: title only
    field: Literal["text", "title"] = "text"  # where the first hit is


def is_word_char(ch: str) -> bool:
    """Letters and digits of the Latin, Greek and Cyrillic scripts (below U+0530)."""
    return ch < "\u0530" and ch.isalnum()


def make_snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """``text[start:end]`` with about ``width`` characters either side, whitespace collapsed.

    Does not cut a Latin word in half when a space is near; marks cut ends with an ellipsis.
    """
    a = max(0, start - width)
    b = min(len(text), end + width)
    if a > 0 and is_word_char(text[a - 1]):
        space = text.find(" ", a, start)
        if space != -1 and space - a <= 15:
            a = space + 1
    if b < len(text) and is_word_char(text[b]):
        space = text.rfind(" ", end, b)
        if space != -1 and b - space <= 15:
            b = space
    body = " ".join(text[a:b].split())
    return f"{ELLIPSIS if a > 0 else ''}{body}{ELLIPSIS if b < len(text) else ''}"


@dataclass
class _Compiled:
    """Per-watch lookup data, indexed like ``Matcher.watches``."""

    watch: Watch
    term_keys: tuple[int, ...]  # key id per ``terms`` entry
    all_keys: frozenset[int]
    exclude_keys: frozenset[int]


class Matcher:
    """All watches in one automaton; ``match`` is one scan of the title and one of the text."""

    def __init__(self, watches: Iterable[Watch]):
        self.watches: list[Watch] = list(watches)
        self._keys: dict[str, int] = {}
        # key id -> [(watch index, term index)] for ``terms`` entries
        self._term_users: list[list[tuple[int, int]]] = []
        self._compiled: list[_Compiled] = []
        # Watches evaluated on every article: regex watches and ``all``-only watches.
        self._always: list[int] = []
        for wi, watch in enumerate(self.watches):
            term_keys = tuple(self._key(t) for t in watch.terms)
            for ti, kid in enumerate(term_keys):
                self._term_users[kid].append((wi, ti))
            self._compiled.append(
                _Compiled(
                    watch,
                    term_keys,
                    frozenset(self._key(t) for t in watch.all),
                    frozenset(self._key(t) for t in watch.exclude),
                )
            )
            if watch.regex or not watch.terms:
                self._always.append(wi)
        self._key_len = [len(k) for k in self._keys]
        self._automaton: ahocorasick.Automaton | None = None
        if self._keys:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
            for key, kid in self._keys.items():
                value = (kid, len(key) - 1, is_word_char(key[0]), is_word_char(key[-1]))
                automaton.add_word(key, value)
            automaton.make_automaton()
            self._automaton = automaton

    def _key(self, term: str) -> int:
        key = fold(term).strip()
        kid = self._keys.get(key)
        if kid is None:
            kid = self._keys[key] = len(self._keys)
            self._term_users.append([])
        return kid

    @property
    def key_count(self) -> int:
        """Distinct folded terms in the automaton."""
        return len(self._keys)

    def _scan(self, folded: str) -> dict[int, int]:
        """key id -> start (in ``folded``) of its first hit that respects word boundaries."""
        found: dict[int, int] = {}
        if self._automaton is None or not folded:
            return found
        last = len(folded) - 1
        for end, (kid, back, left, right) in self._automaton.iter(folded):
            if kid in found:
                continue
            start = end - back
            if left and start > 0 and is_word_char(folded[start - 1]):
                continue
            if right and end < last and is_word_char(folded[end + 1]):
                continue
            found[kid] = start
        return found

    def match(self, title: str, text: str, outlet: str | None = None) -> list[Match]:
        """The watches that ``title`` + ``text`` match, in watch order."""
        folded_text, offsets = fold_with_map(text or "")
        folded_title = fold(title or "")
        in_text = self._scan(folded_text)
        in_title = self._scan(folded_title)

        term_hits: dict[int, list[int]] = {}  # watch index -> hit term indexes
        for kid in in_text.keys() | in_title.keys():
            for wi, ti in self._term_users[kid]:
                term_hits.setdefault(wi, []).append(ti)
        candidates = term_hits.keys() | set(self._always)

        matches = []
        for wi in sorted(candidates):
            compiled = self._compiled[wi]
            watch = compiled.watch
            if not watch.allows_outlet(outlet):
                continue
            if compiled.all_keys and not all(
                k in in_text or k in in_title for k in compiled.all_keys
            ):
                continue
            if any(k in in_text or k in in_title for k in compiled.exclude_keys):
                continue
            # (spelling, start, end) in folded text; start None for a title-only hit
            hits: list[tuple[str, int | None, int | None]] = []
            for ti in sorted(set(term_hits.get(wi, ()))):
                kid = compiled.term_keys[ti]
                start = in_text.get(kid)
                end = None if start is None else start + self._key_len[kid]
                hits.append((watch.terms[ti], start, end))
            for source, pattern in zip(watch.regex, watch.patterns, strict=True):
                found = pattern.search(folded_text)
                if found:
                    hits.append((source, found.start(), found.end()))
                elif pattern.search(folded_title):
                    hits.append((source, None, None))
            if not hits:
                if watch.terms or watch.regex:
                    continue
                for term in watch.all:  # an ``all``-only watch: report its ``all`` terms
                    kid = self._keys[fold(term).strip()]
                    start = in_text.get(kid)
                    end = None if start is None else start + self._key_len[kid]
                    hits.append((term, start, end))
            matches.append(self._make_match(watch.name, hits, text or "", title or "", offsets))
        return matches

    @staticmethod
    def _make_match(name, hits, text, title, offsets) -> Match:
        spellings = tuple(dict.fromkeys(h[0] for h in hits))
        in_text = [(start, end) for _, start, end in hits if start is not None]
        if not in_text:
            lead = make_snippet(text, 0, 0, 2 * SNIPPET_WIDTH) if text.strip() else title
            return Match(name, spellings, lead.strip(), None, "title")
        start, end = min(in_text)
        o_start = to_original(offsets, start)
        o_end = max(to_original(offsets, end), o_start + 1)
        return Match(name, spellings, make_snippet(text, o_start, o_end), o_start, "text")
