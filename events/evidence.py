"""Lexical evidence that two stories report the same news, in any two languages.

``extract(title, lead, tagger)`` reduces a story to language-independent keys:

* ``e:<id>``  entities of the table (``newswatch.entities``): 深度求索 and DeepSeek are both
  ``e:deepseek``; a model (``e:deepseek-r1``) weighs more than an org.
* ``m:<token>`` Latin tokens with a digit: model names and versions (``qwq-32b``, ``v3.1``,
  ``h800``, ``gpt-4o``), the same in a Chinese and an English headline.
* ``n:<value>`` numbers with their unit folded to a value at two significant digits:
  ``6710亿`` and ``671 billion`` are both ``n:6.7e11``, ``557万美元`` and ``$5.6 million`` both
  ``n:5.6e6``, ``17%`` is ``n:17%``. Years and bare numbers below 10 say little and are left out.
* ``w:<word>`` other Latin words of three letters or more outside a stop list: in a Chinese
  story these are names (``monica``), in an English one content words (words of an entity's
  spelling are left to its ``e:`` key). They count
  only between stories in different languages (within one language the embedding or the
  word overlap sees them already).

``Evidence.shared(other, cross)`` weighs the keys two stories share.
``Evidence.overlap(other)`` is the same-language text overlap (Dice over CJK bigrams and Latin
words; 0 across languages): the lexical stand-in for an embedding when no encoder is
installed, and a second opinion beside one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from newswatch.entities import EntityTagger
from newswatch.entities.fold import fold

__all__ = ["Evidence", "extract", "WEIGHTS"]

# Weight of one shared key of each sort (a model/product entity counts as 1.0, an org 0.5).
WEIGHTS = {"e": 1.0, "org": 0.5, "m": 1.0, "n": 1.0, "w": 0.5}

_LATIN = re.compile(r"[a-z0-9][a-z0-9.+\-]*[a-z0-9+]|[a-z0-9]")
_CJK_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(万亿|亿|万|千)?\s*(%|％)?")
_EN_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*"
    r"(trillion|billion|million|thousand|bn|tn|[kmb](?![a-z]))?\s*(%|percent\b)?"
)
_CJK_UNITS = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3}
_EN_UNITS = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9,
             "million": 1e6, "m": 1e6, "thousand": 1e3, "k": 1e3}
_CJK = re.compile(r"[\u3400-\u9fff]+")
_STOP = frozenset("""
the and for with that this from into over under about after before than then them they their
its it's has have had was were are been being will would could should can may might not but
also more most less new said says say one two three four five six seven eight nine ten per
who what when where which while how all any some such our out off own via its his her him
you your yet just only first last next other others both each every many much very year years
week weeks month months day days today monday tuesday wednesday thursday friday saturday sunday
company companies firm startup start-up model models ai artificial intelligence chinese china
us u.s. based according people familiar matter report reported reports release released
releases launch launched launches announced announces unveiled unveils news time times
api app apps gpu gpus llm token tokens pro mini plus inc ltd co ceo cto billion million
percent users user version versions open source open-source
""".split())


@dataclass(frozen=True)
class Evidence:
    keys: frozenset[str]
    orgs: frozenset[str]  # e: keys of org-kind entities (weigh less)
    shingles: frozenset[str]  # CJK bigrams and Latin words (for ``overlap``)

    def shared(self, other: Evidence, cross: bool) -> float:
        """Weighted count of the keys both stories have (``w:`` keys only when ``cross``)."""
        total = 0.0
        for key in self.keys & other.keys:
            if key[0] == "w" and not cross:
                continue
            total += WEIGHTS["org" if key in self.orgs else key[0]]
        return total

    def overlap(self, other: Evidence) -> float:
        """Dice coefficient of the two stories' CJK bigrams and Latin words."""
        if not self.shingles or not other.shingles:
            return 0.0
        return 2 * len(self.shingles & other.shingles) / (len(self.shingles) + len(other.shingles))


def _round2(value: float) -> str:
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10**exponent, 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent}"


def _number_key(digits: str, scale: float, percent: bool) -> str | None:
    value = float(digits.replace(",", ""))
    if percent:
        return f"n:{value:g}%"
    if scale == 1:
        if value < 10 or (1900 <= value <= 2100 and value.is_integer()):
            return None
    return "n:" + _round2(value * scale)


def _numbers(folded: str) -> set[str]:
    keys = set()

    def cjk(m: re.Match[str]) -> str:
        if not (m.group(2) or m.group(3)):
            return m.group()  # a bare number: the English pattern below reads it
        key = _number_key(m.group(1), _CJK_UNITS.get(m.group(2) or "", 1.0), bool(m.group(3)))
        if key:
            keys.add(key)
        return " " * len(m.group())

    rest = _CJK_NUMBER.sub(cjk, folded)
    for m in _EN_NUMBER.finditer(rest):
        key = _number_key(m.group(1), _EN_UNITS.get(m.group(2) or "", 1.0), bool(m.group(3)))
        if key:
            keys.add(key)
    return keys


def extract(title: str, lead: str, tagger: EntityTagger | None) -> Evidence:
    """The evidence keys of one story (title and lead)."""
    folded = fold(f"{title}\n{lead}")
    keys: set[str] = set()
    marks: set[str] = set()
    orgs: set[str] = set()
    named: set[str] = set()  # words of entity spellings: the e: key stands for them
    if tagger is not None:
        for hit in tagger.tag(title, lead):
            key = f"e:{hit.entity}"
            keys.add(key)
            if hit.kind == "org":
                orgs.add(key)
            for alias in hit.aliases:
                named.update(_LATIN.findall(fold(alias)))
    for token in _LATIN.findall(folded):
        if any(c.isdigit() for c in token):
            if not any(c.isalpha() for c in token) or re.fullmatch(r"\d+(\.\d+)?[kmb]n?", token):
                continue  # a number (the n: keys read it)
            if token not in named:
                marks.add(f"m:{token}")
        elif len(token) >= 3 and token not in _STOP and token not in named:
            keys.add(f"w:{token}")
    keys |= marks
    keys |= _numbers(folded)
    return Evidence(frozenset(keys), frozenset(orgs), frozenset(_shingles(folded)))


def _shingles(folded: str) -> set[str]:
    grams = {run[i:i + 2] for run in _CJK.findall(folded) for i in range(len(run) - 1)}
    grams |= {w for w in _LATIN.findall(folded) if len(w) >= 3 and w not in _STOP}
    return grams
