"""Tagging: which entities of the table a story's title and text mention, and where.

``EntityTagger(table).tag(title, text)`` folds both (``entities.fold``: width, case, dashes,
traditional -> simplified; lengths kept, so offsets are offsets into the original), scans each
once with one Aho-Corasick automaton holding every name, alias, context word and exclude phrase
of the table, and applies the rules:

* Word boundaries on Latin ends: ``GLM`` is not found in ``GLMM``, ``R1`` not in ``R10``,
  ``GPT-4`` not in ``GPT-4o`` nor ``GPT-4.5``, ``V3`` not in ``V3.1``. A version may follow a
  spelling that ends in a letter: ``Qwen3``, ``Claude3`` count for Qwen and Claude. CJK ends
  match anywhere. ``cased`` spellings must match the case as written (``xAI``, not ``XAI``).
* A ``names`` spelling always counts, unless it lies inside an ``exclude`` phrase of its entity
  (or of a parent).
* An ``aliases`` spelling (also an ordinary word: ``Claude``, ``豆包``, ``R1``) counts when a
  context word of its rule (by default the entity's and its parents') occurs within ``near``
  characters (the title counts as the text's first line), or another spelling of the same
  family (same root org)
  occurs anywhere in the title or text: ``R1`` counts beside ``DeepSeek``, ``豆包`` beside
  ``大模型``, but not in ``豆包好吃`` or ``R1 visa``.
* A hit inside a longer hit is dropped (``DeepSeek`` inside ``DeepSeek-R1`` is the R1 hit).

Each ``EntityHit`` gives the entity id and kind, the spellings as written, and their spans.
``table.with_parents(ids)`` adds the parents: a watch on ``deepseek`` matches a story whose
hits include ``deepseek-r1``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import ahocorasick

from .fold import fold, fold_keep_case
from .table import Alias, EntityTable

__all__ = ["EntityHit", "EntityTagger", "Span", "NEAR"]

NEAR = 120  # characters either side of an alias in which a context word makes it count

Field = Literal["title", "text"]


@dataclass(frozen=True)
class Span:
    field: Field
    start: int
    end: int


@dataclass(frozen=True)
class EntityHit:
    entity: str  # entity id
    kind: str
    aliases: tuple[str, ...]  # the spellings that hit, as written in the story
    spans: tuple[Span, ...]  # where, in the order found (title first)


# Payload roles in the automaton.
_NAME, _ALIAS, _CONTEXT, _EXCLUDE = range(4)


@dataclass(frozen=True)
class _Spelling:
    entity: str
    root: str
    alias: Alias
    key: str  # folded
    cased_key: str  # fold_keep_case(text): what a cased spelling must equal
    context: frozenset[str]  # folded context words that make an alias count
    excludes: tuple[str, ...]  # exclude entity ids whose phrases cancel it (itself + parents)


@dataclass
class _Found:
    field: Field
    start: int
    end: int
    spelling: _Spelling


def _is_word(ch: str) -> bool:
    return ch < "\u0530" and ch.isalnum()


class EntityTagger:
    """One automaton over the whole table; ``tag`` is safe to call from several threads."""

    def __init__(self, table: EntityTable, near: int = NEAR):
        self.table = table
        self.near = near
        payloads: dict[str, list[tuple[int, object]]] = defaultdict(list)
        for eid, entity in table.entities.items():
            lineage = table.lineage(eid)
            default_context = frozenset(fold(w) for w in table.effective_context(eid))
            for alias in entity.spellings:
                context = (default_context if alias.context is None
                           else frozenset(fold(w) for w in alias.context))
                spelling = _Spelling(eid, lineage[-1], alias, fold(alias.text),
                                     fold_keep_case(alias.text), context, lineage)
                payloads[spelling.key].append((_ALIAS if alias.needs_context else _NAME, spelling))
            for word in entity.context:
                payloads[fold(word)].append((_CONTEXT, None))
            for phrase in entity.exclude:
                payloads[fold(phrase)].append((_EXCLUDE, eid))
            for alias in entity.aliases:
                for word in alias.context or ():
                    payloads[fold(word)].append((_CONTEXT, None))
        automaton = ahocorasick.Automaton()
        for key, items in payloads.items():
            automaton.add_word(key, (key, tuple(dict.fromkeys(items))))
        automaton.make_automaton()
        self._automaton = automaton
        self.key_count = len(payloads)

    def tag(self, title: str, text: str = "") -> list[EntityHit]:
        """The entities that ``title`` and ``text`` mention, in order of first mention."""
        found: list[_Found] = []
        context_at: dict[str, list[int]] = defaultdict(list)  # positions in title + "\n" + text
        excluded: list[tuple[Field, int, int, str]] = []
        for name, original in (("title", title), ("text", text)):
            if original:
                shift = 0 if name == "title" else len(title) + 1
                self._scan(name, original, shift, found, context_at, excluded)
        if not found:
            return []
        found = [f for f in found if not _inside_exclude(f, excluded)]
        family_keys: dict[str, set[str]] = defaultdict(set)
        for f in found:
            family_keys[f.spelling.root].add(f.spelling.key)
        accepted = [f for f in found if not f.spelling.alias.needs_context
                    or len(family_keys[f.spelling.root]) > 1
                    or self._context_near(f, len(title) + 1, context_at)]
        return _hits(_outermost(accepted), title, text, self.table)

    def _scan(self, name: Field, original: str, shift: int, found: list[_Found],
              context_at: dict[str, list[int]],
              excluded: list[tuple[Field, int, int, str]]) -> None:
        folded = fold(original)
        size = len(folded)
        for last, (key, items) in self._automaton.iter(folded):
            end = last + 1
            start = end - len(key)
            if _is_word(key[0]) and start > 0 and _is_word(folded[start - 1]):
                continue
            if end < size and _is_word(key[-1]) and not _end_ok(key[-1], folded, end):
                continue
            for role, value in items:
                if role == _CONTEXT:
                    context_at[key].append(start + shift)
                elif role == _EXCLUDE:
                    excluded.append((name, start, end, value))
                elif not value.alias.cased or fold_keep_case(original[start:end]) == value.cased_key:
                    found.append(_Found(name, start, end, value))

    def _context_near(self, f: _Found, text_shift: int, context_at: dict[str, list[int]]) -> bool:
        shift = 0 if f.field == "title" else text_shift
        start, end = f.start + shift, f.end + shift
        for word in f.spelling.context:
            for at in context_at.get(word, ()):
                if start - self.near <= at <= end + self.near and not start <= at < end:
                    return True
        return False


def _end_ok(last: str, folded: str, end: int) -> bool:
    """May a spelling ending in word character ``last`` end before ``folded[end]``?"""
    nxt = folded[end]
    if _is_word(nxt):
        return last.isalpha() and nxt.isdigit()  # a version glued on: Qwen3
    if nxt == "." and last.isdigit() and end + 1 < len(folded) and folded[end + 1].isdigit():
        return False  # GPT-4 in GPT-4.5
    return True


def _inside_exclude(f: _Found, excluded: list[tuple[Field, int, int, str]]) -> bool:
    return any(field == f.field and start <= f.start and f.end <= end and eid in f.spelling.excludes
               for field, start, end, eid in excluded)


def _outermost(found: list[_Found]) -> list[_Found]:
    """Drop hits that lie inside a longer hit of the same field."""
    found = sorted(found, key=lambda f: (f.field != "title", f.start, -(f.end - f.start)))
    out: list[_Found] = []
    reach: dict[Field, tuple[int, int]] = {}
    for f in found:
        cover = reach.get(f.field)
        if cover and cover[0] <= f.start and f.end <= cover[1] and (f.end - f.start) < cover[1] - cover[0]:
            continue
        if not cover or f.end > cover[1]:
            reach[f.field] = (f.start, f.end)
        out.append(f)
    return out


def _hits(found: list[_Found], title: str, text: str, table: EntityTable) -> list[EntityHit]:
    by_entity: dict[str, tuple[dict[str, None], list[Span]]] = {}
    for f in found:
        spellings, spans = by_entity.setdefault(f.spelling.entity, ({}, []))
        source = title if f.field == "title" else text
        spellings[source[f.start:f.end]] = None
        spans.append(Span(f.field, f.start, f.end))
    return [EntityHit(eid, table[eid].kind, tuple(spellings), tuple(spans))
            for eid, (spellings, spans) in by_entity.items()]
