"""One-pass matcher: which watches an article (title + text) matches, with a snippet.

``Matcher(watches)`` folds every ``terms`` / ``all`` / ``exclude`` entry of every watch
(``newswatch.fold``: NFKC, casefold, character-level traditional -> simplified) and puts the
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

Speed: pyahocorasick looks up a node's children by linear search, which is slow at a root
with thousands of distinct CJK first characters. Keys and text are therefore fed to the
automaton as UTF-8 bytes (spelt as latin-1 ``str``): at most a few dozen children per node.
UTF-8 is self-synchronising, so every hit starts and ends on a character boundary; byte
offsets are turned into character offsets only for the hits a ``Match`` reports.

``entities``: ``match(..., entities=ids)`` passes the entity ids the story mentions (tagged
when it was stored, parents included); a watch's ``entities`` entry hits when it is one of them,
and is reported by its id among the terms.

A watch matches when at least one ``terms``, ``regex`` or ``entities`` entry hits (a watch with
none of them only needs its ``all`` terms), every ``all`` term hits, no ``exclude`` term hits, and the
outlet is allowed (``outlet=None`` means unknown: the ``outlets`` limit is not applied).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import ahocorasick

from newswatch.fold import fold, fold_with_map

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


def _new_match(
    watch: str,
    terms: tuple[str, ...],
    snippet: str,
    first_offset: int | None,
    field: Literal["text", "title"],
) -> Match:
    """``Match(...)`` without the frozen dataclass's five ``object.__setattr__`` calls.

    The instance is the same (fields live in ``__dict__``, equality and hash as usual); this
    saves about a third of a microsecond for each of the dozens of matches an article makes.
    """
    match = _object_new(Match)
    _object_setattr(
        match,
        "__dict__",
        {
            "watch": watch,
            "terms": terms,
            "snippet": snippet,
            "first_offset": first_offset,
            "field": field,
        },
    )
    return match


_object_new = object.__new__
_object_setattr = object.__setattr__


def is_word_char(ch: str) -> bool:
    """Letters and digits of the Latin, Greek and Cyrillic scripts (below U+0530)."""
    return ch < "\u0530" and ch.isalnum()


def make_snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """``text[start:end]`` with about ``width`` characters either side, whitespace collapsed.

    Does not cut a Latin word in half when a space is near; marks cut ends with an ellipsis.
    """
    n = len(text)
    a = start - width
    if a <= 0:
        a = 0
    elif (ch := text[a - 1]) < "\u0530" and ch.isalnum():
        space = text.find(" ", a, start)
        if space != -1 and space - a <= 15:
            a = space + 1
    b = end + width
    if b >= n:
        b = n
    elif (ch := text[b]) < "\u0530" and ch.isalnum():
        space = text.rfind(" ", end, b)
        if space != -1 and b - space <= 15:
            b = space
    body = " ".join(text[a:b].split())
    if a > 0:
        body = ELLIPSIS + body
    return body + ELLIPSIS if b < n else body


class _Compiled(NamedTuple):
    """Per-watch lookup data, indexed like ``Matcher.watches`` (worked out once, at build)."""

    name: str
    terms: tuple[str, ...]  # spelt as in the config
    term_keys: tuple[int, ...]  # key id per ``terms`` entry
    all_keys: frozenset[int]
    exclude_keys: frozenset[int]
    outlets: frozenset[str]  # casefolded; empty: any outlet
    regexes: tuple[tuple[str, re.Pattern[str]], ...]  # (source, compiled)
    entities: tuple[str, ...]  # entity ids, any of which hits
    dedup: bool  # do ``terms`` + ``regex`` repeat a spelling?
    all_only: tuple[str, ...] | None  # spellings reported by an ``all``-only watch


class Matcher:
    """All watches in one automaton; ``match`` is one scan of the title and one of the text."""

    def __init__(self, watches: Iterable[Watch]):
        self.watches: list[Watch] = list(watches)
        self._keys: dict[str, int] = {}
        # key id -> [(watch index, term index)] for ``terms`` entries
        self._term_users: list[list[tuple[int, int]]] = []
        self._compiled: list[_Compiled] = []
        # Watches evaluated on every article: regex watches and ``all``-only watches.
        self._always: set[int] = set()
        for wi, watch in enumerate(self.watches):
            term_keys = tuple(self._key(t) for t in watch.terms)
            for ti, kid in enumerate(term_keys):
                self._term_users[kid].append((wi, ti))
            spellings = watch.terms + watch.regex + watch.entities
            self._compiled.append(
                _Compiled(
                    watch.name,
                    watch.terms,
                    term_keys,
                    frozenset(self._key(t) for t in watch.all),
                    frozenset(self._key(t) for t in watch.exclude),
                    frozenset(o.casefold() for o in watch.outlets),
                    tuple(zip(watch.regex, watch.patterns, strict=True)),
                    watch.entities,
                    len(set(spellings)) != len(spellings),
                    None if spellings else tuple(dict.fromkeys(watch.all)),
                )
            )
            if watch.regex or watch.entities or not watch.terms:
                self._always.add(wi)
        self._key_len = [len(k) for k in self._keys]
        self._automaton: ahocorasick.Automaton | None = None
        if self._keys:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
            for key, kid in self._keys.items():
                raw = _as_bytes_str(key)
                value = (kid, len(raw) - 1, is_word_char(key[0]), is_word_char(key[-1]))
                automaton.add_word(raw, value)
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

    def _scan(self, folded: str) -> tuple[dict[int, int], _Positions]:
        """key id -> byte start of its first hit that respects word boundaries, and positions."""
        found: dict[int, int] = {}
        positions = _Positions(folded)
        if self._automaton is None or not folded:
            return found, positions
        data = positions.data
        last = len(data) - 1
        ascii_word = _ASCII_WORD
        for end, (kid, back, left, right) in self._automaton.iter(positions.latin1):
            if kid in found:
                continue
            start = end - back
            if left and start > 0:
                b = data[start - 1]
                if ascii_word[b] if b < 0x80 else _word_before(data, start):
                    continue
            if right and end < last:
                b = data[end + 1]
                if ascii_word[b] if b < 0x80 else _word_at(data, end + 1):
                    continue
            found[kid] = start
        return found, positions

    def match(self, title: str, text: str, outlet: str | None = None,
              entities: Collection[str] = ()) -> list[Match]:
        """The watches that ``title`` + ``text`` match, in watch order; ``entities``: the
        entity ids the story mentions (parents included)."""
        text, title = text or "", title or ""
        folded_text, offsets = fold_with_map(text)
        folded_title = fold(title)
        in_text, text_pos = self._scan(folded_text)
        in_title = self._scan(folded_title)[0] if folded_title else {}
        hit_keys = in_text.keys() | in_title.keys()

        term_users = self._term_users
        term_hits: dict[int, list[int]] = {}  # watch index -> hit term indexes
        for kid in hit_keys:
            for wi, ti in term_users[kid]:
                hits = term_hits.get(wi)
                if hits is None:
                    term_hits[wi] = [ti]
                else:
                    hits.append(ti)
        candidates = term_hits.keys() | self._always if self._always else term_hits.keys()
        wanted_outlet = None if outlet is None else outlet.casefold()
        text_get = in_text.get
        compiled = self._compiled
        # pattern -> (span of its first hit in the text or None, hits the title)
        regex_hits: dict[re.Pattern[str], tuple[tuple[int, int] | None, bool]] = {}

        # (watch name, spellings, first term hit: byte start or None, its key id,
        #  first regex hit: (char start, char end) or None, spellings may repeat)
        found = []
        for wi in sorted(candidates):
            (name, terms, term_keys, all_keys, exclude_keys, outlets, regexes, watch_entities,
             dedup, all_only) = compiled[wi]
            if outlets and wanted_outlet is not None and wanted_outlet not in outlets:
                continue
            if all_keys and not all_keys <= hit_keys:
                continue
            if exclude_keys and not exclude_keys.isdisjoint(hit_keys):
                continue
            first_start = first_kid = None
            hits = term_hits.get(wi)
            if hits:
                if len(hits) > 1:
                    hits.sort()
                spellings = [terms[ti] for ti in hits]
                for ti in hits:
                    kid = term_keys[ti]
                    start = text_get(kid)
                    if start is not None and (first_start is None or start < first_start):
                        first_start, first_kid = start, kid
            else:
                spellings = []
            first_regex: tuple[int, int] | None = None
            for source, pattern in regexes:
                cached = regex_hits.get(pattern)
                if cached is None:
                    hit = pattern.search(folded_text)
                    cached = regex_hits[pattern] = (
                        (hit.span(), True)
                        if hit
                        else (None, pattern.search(folded_title) is not None)
                    )
                span, any_hit = cached
                if any_hit:
                    spellings.append(source)
                    if span is not None and (first_regex is None or span[0] < first_regex[0]):
                        first_regex = span
            if watch_entities and entities:
                spellings += [e for e in watch_entities if e in entities]
            if not spellings:
                if all_only is None:
                    continue
                spellings = all_only  # an ``all``-only watch: report its ``all`` terms
                for kid in all_keys:
                    start = text_get(kid)
                    if start is not None and (first_start is None or start < first_start):
                        first_start, first_kid = start, kid
            found.append((name, spellings, first_start, first_kid, first_regex, dedup))

        # byte -> character offsets of the first hits, in one pass (None: ASCII, the same)
        char_at = text_pos.index_of(f[2] for f in found if f[2] is not None)
        key_len, new_match = self._key_len, _new_match
        matches = []
        snippets: dict[tuple[int, int], tuple[str, int]] = {}  # shared by watches hitting alike
        lead: str | None = None  # snippet of the watches that hit the title only
        for name, spellings, first_start, first_kid, first_regex, dedup in found:
            spellings = tuple(dict.fromkeys(spellings)) if dedup else tuple(spellings)
            if first_start is not None:
                start = first_start if char_at is None else char_at[first_start]
                span = (start, start + key_len[first_kid])
                if first_regex is not None and first_regex < span:
                    span = first_regex
            elif first_regex is not None:
                span = first_regex
            else:
                if lead is None:
                    lead = make_snippet(text, 0, 0, 2 * SNIPPET_WIDTH) if text.strip() else title
                    lead = lead.strip()
                matches.append(new_match(name, spellings, lead, None, "title"))
                continue
            cached = snippets.get(span)
            if cached is None:
                if offsets is None:
                    o_start, o_end = span
                else:
                    o_start, o_end = offsets(span[0]), offsets(span[1])
                if o_end <= o_start:
                    o_end = o_start + 1
                cached = snippets[span] = (make_snippet(text, o_start, o_end), o_start)
            matches.append(new_match(name, spellings, cached[0], cached[1], "text"))
        return matches


class _Positions:
    """A folded text as UTF-8 (bytes and latin-1 ``str``) and byte -> character offsets."""

    __slots__ = ("data", "latin1", "_ascii", "_index")

    def __init__(self, folded: str):
        self.data = folded.encode("utf-8")
        self.latin1 = self.data.decode("latin-1")
        self._ascii = len(self.data) == len(folded)
        self._index: dict[int, int] = {}

    def index_of(self, byte_offsets: Iterable[int]) -> dict[int, int] | None:
        """Work out the character offsets of many byte offsets in one pass over the text.

        Returns byte offset -> character offset, or None for ASCII text (they are equal).
        """
        if self._ascii:
            return None
        data, index = self.data, self._index
        done = chars = 0
        for b in sorted(set(byte_offsets)):
            chars += len(data[done:b].decode("utf-8"))
            index[b] = chars
            done = b
        return index


_ASCII_WORD = bytes(1 if chr(b).isalnum() else 0 for b in range(128))


def _word_before(data: bytes, start: int) -> bool:
    """Is the character ending just before byte ``start`` a word character?"""
    b = data[start - 1]
    if b < 0x80:
        return bool(_ASCII_WORD[b])
    # Word characters beyond ASCII are below U+0530: two bytes, lead byte 0xC2..0xD4.
    return (
        start >= 2
        and 0xC2 <= data[start - 2] <= 0xD4
        and is_word_char(data[start - 2 : start].decode("utf-8"))
    )


def _word_at(data: bytes, at: int) -> bool:
    """Is the character starting at byte ``at`` a word character?"""
    b = data[at]
    if b < 0x80:
        return bool(_ASCII_WORD[b])
    return 0xC2 <= b <= 0xD4 and is_word_char(data[at : at + 2].decode("utf-8"))


def _as_bytes_str(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")
