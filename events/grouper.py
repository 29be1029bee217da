"""Grouping stories into events: the same news in any language, from any outlet.

A story (``Story``: key, title, lead, language, time, outlet) joins the event it is most
similar to, if that similarity reaches the threshold; otherwise it starts an event whose key
is its own key. An event holds one story per outlet (``Settings.one_per_outlet``): a second
story of the same outlet is a follow-up, not a copy. An event's similarity is the mean over its stories published within
``window`` of the new one (average linkage: one close story does not drag an event in, and
events do not chain). Similarity of two stories::

    score = cosine(embedding)            # 0 without an encoder
          + overlap_weight * overlap     # same-language CJK-bigram/word overlap (Dice)
          + cross_language_bonus         # when the two are in different languages
          + evidence_weight * min(shared lexical evidence, evidence_cap)
          - time_decay * days apart beyond the first 12 hours

(``evidence``: shared entities, versioned names, numbers with their units; see ``evidence``.) The embedding
reads the title and the lead, traditional characters folded to simplified first.

``EventGrouper.prepare(story)`` does the costly part (encoding, tagging) and returns a
picklable ``Prepared``, so it can run in the extraction worker pool; ``assign(prepared)``
decides, and must be called in one place, in time order as far as possible (a story that
arrives late still finds events within ``window`` of its own time). ``restore(event_key,
prepared)`` seeds the grouper with stories already stored (after a restart), and
``forget_before(time)`` drops what no new story can join.

The tuned settings per encoder (``TUNED``) come from ``benchmarks/events.py`` on the tuning
half of ``tests/fixtures/events/testset.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from newswatch.entities import EntityTagger, load_table
from newswatch.entities.fold import fold_keep_case

from .encoders import Encoder
from .evidence import Evidence, extract

__all__ = ["Assignment", "EventGrouper", "Lead", "Prepared", "Settings", "Story", "TUNED",
           "LEAD_CHARS", "lead_text"]

LEAD_CHARS = 300  # how much of the text counts as the lead


def lead_text(title: str, text: str) -> str:
    """What an encoder reads of a story: its title and lead, folded."""
    return fold_keep_case(f"{title}\n{text[:LEAD_CHARS]}")


@dataclass(frozen=True)
class Lead:
    """A story's lead encoded ahead of grouping (the crawl's workers do it): ``prepare`` takes
    the vector only for the same text and encoder."""

    text: str  # lead_text(title, text)
    encoder: str
    vector: np.ndarray


_GRACE = 12 * 3600  # stories this close in time lose nothing to time_decay


@dataclass(frozen=True)
class Story:
    key: str  # the caller's id for the story (storage: the story id)
    title: str
    lead: str  # the first ~300 characters of the text
    language: str | None
    published: datetime  # published, else first seen; timezone-aware
    outlet: str | None = None

    @classmethod
    def from_text(cls, key: str, title: str, text: str, language: str | None,
                  published: datetime, outlet: str | None = None) -> Story:
        return cls(key, title, text[:LEAD_CHARS], language, published, outlet)


@dataclass(frozen=True)
class Settings:
    threshold: float
    evidence_weight: float
    overlap_weight: float = 1.0
    evidence_cap: float = 3.0
    cross_language_bonus: float = 0.0
    time_decay: float = 0.0  # per day apart, beyond the first 12 hours
    window: timedelta = timedelta(hours=72)
    # an event holds at most one story per outlet: an outlet's second story on the same news is
    # a follow-up (its republished copies are one story already, storage's duplicates)
    one_per_outlet: bool = True


# Tuned on the tuning split (benchmarks/events.py --tune); None = no encoder (lexical only).
TUNED: dict[str | None, Settings] = {
    "use": Settings(threshold=0.70, evidence_weight=0.0, overlap_weight=0.0,
                    cross_language_bonus=0.20, time_decay=0.06),
    "e5": Settings(threshold=0.96, evidence_weight=0.0, overlap_weight=0.0,
                   cross_language_bonus=0.14, time_decay=0.06),
    None: Settings(threshold=0.95, evidence_weight=0.20, overlap_weight=1.0,
                   cross_language_bonus=0.80, time_decay=0.06),
}


@dataclass(frozen=True)
class Prepared:
    """A story with what grouping needs from it; picklable (numpy row, frozen sets)."""

    story: Story
    vector: np.ndarray | None
    evidence: Evidence


@dataclass(frozen=True)
class Assignment:
    event_key: str
    new: bool  # True: the story starts the event
    score: float  # similarity to the closest story of the event (0.0 for a new event)
    closest: str | None = None  # key of that story


# Row-by-vector dot products as a ufunc, not BLAS: a threaded BLAS gemv took ~16 ms for 2,000
# rows on this loaded 2-core machine (threads waiting on each other), the ufunc ~0.3 ms.
_row_dots = getattr(np, "vecdot", None) or (lambda matrix, vector: np.einsum("ij,j->i", matrix, vector))


def _language(p: Prepared) -> str:
    return (p.story.language or "").split("-")[0].lower()


class _Members:
    """The stories new ones can still join: parallel lists, and arrays of their times and
    vectors (rows ``[:size]``; capacity doubles as they fill)."""

    def __init__(self, dim: int | None):
        self.prepared: list[Prepared] = []
        self.events: list[str] = []
        self._times = np.zeros(16, dtype=np.float64)
        self._matrix = np.zeros((16, dim), dtype=np.float32) if dim else None

    @property
    def size(self) -> int:
        return len(self.prepared)

    @property
    def times(self) -> np.ndarray:
        return self._times[: self.size]

    @property
    def matrix(self) -> np.ndarray | None:
        return None if self._matrix is None else self._matrix[: self.size]

    def add(self, event_key: str, prepared: Prepared) -> None:
        at = self.size
        if self._matrix is not None:
            if prepared.vector is None or prepared.vector.shape != (self._matrix.shape[1],):
                raise ValueError(f"story {prepared.story.key!r} was prepared with another encoder")
            if at == len(self._matrix):
                self._matrix = np.vstack([self._matrix, np.zeros_like(self._matrix)])
            self._matrix[at] = prepared.vector
        if at == len(self._times):
            self._times = np.concatenate([self._times, np.zeros_like(self._times)])
        self._times[at] = prepared.story.published.timestamp()
        self.prepared.append(prepared)
        self.events.append(event_key)

    def keep(self, rows: list[int]) -> None:
        self.prepared = [self.prepared[i] for i in rows]
        self.events = [self.events[i] for i in rows]
        capacity = max(16, 2 * len(rows))
        times = np.zeros(capacity, dtype=np.float64)
        times[: len(rows)] = self._times[rows]
        self._times = times
        if self._matrix is not None:
            matrix = np.zeros((capacity, self._matrix.shape[1]), dtype=np.float32)
            matrix[: len(rows)] = self._matrix[rows]
            self._matrix = matrix


class EventGrouper:
    def __init__(self, encoder: Encoder | None, tagger: EntityTagger | None = None,
                 settings: Settings | None = None):
        self.encoder = encoder
        self.tagger = tagger if tagger is not None else EntityTagger(load_table())
        self.settings = settings or TUNED.get(encoder.name if encoder else None, TUNED[None])
        self._members = _Members(encoder.dim if encoder else None)
        self._newest = float("-inf")
        self._added = 0

    # -- preparing (costly, parallel) -----------------------------------------------------
    def prepare(self, story: Story, vector: np.ndarray | None = None,
                lead: Lead | None = None) -> Prepared:
        """Encode (unless ``vector``, e.g. stored earlier, is given, or ``lead`` was encoded
        ahead by this encoder from this story's title and lead), tag and extract evidence."""
        if vector is None and lead is not None and self._made_here(lead, story):
            vector = lead.vector
        if vector is not None:
            return Prepared(story, np.asarray(vector, dtype=np.float32),
                            extract(story.title, story.lead, self.tagger))
        return self.prepare_many([story])[0]

    def _made_here(self, lead: Lead, story: Story) -> bool:
        """Whether ``lead`` is what this grouper's encoder would make of ``story``."""
        return (self.encoder is not None and lead.encoder == self.encoder.name
                and lead.text == lead_text(story.title, story.lead))

    def prepare_many(self, stories: Iterable[Story]) -> list[Prepared]:
        stories = list(stories)
        vectors: list[np.ndarray | None] = [None] * len(stories)
        if self.encoder is not None and stories:
            texts = [lead_text(s.title, s.lead) for s in stories]
            vectors = list(self.encoder.encode(texts))
        return [Prepared(s, v, extract(s.title, s.lead, self.tagger))
                for s, v in zip(stories, vectors, strict=True)]

    # -- deciding (one place, in order) ---------------------------------------------------
    def assign(self, item: Story | Prepared) -> Assignment:
        """The event the story belongs to (an existing one, or a new one keyed by it)."""
        prepared = item if isinstance(item, Prepared) else self.prepare(item)
        best, best_score = self._closest(prepared)
        if best is not None and best_score >= self.settings.threshold:
            event_key = self._members.events[best]
            assignment = Assignment(event_key, False, best_score,
                                    self._members.prepared[best].story.key)
        else:
            event_key = prepared.story.key
            assignment = Assignment(event_key, True, 0.0)
        self._add(event_key, prepared)
        return assignment

    def restore(self, event_key: str, prepared: Prepared) -> None:
        """Remember a story already grouped (e.g. loaded from storage after a restart)."""
        self._add(event_key, prepared)

    def forget_before(self, when: datetime) -> int:
        """Drop stories older than ``when - window`` (nothing newer can join them)."""
        return self._forget_before((when - self.settings.window).timestamp())

    def _forget_before(self, cutoff: float) -> int:
        m = self._members
        keep = np.flatnonzero(m.times >= cutoff).tolist()
        dropped = m.size - len(keep)
        if dropped:
            m.keep(keep)
        return dropped

    def __len__(self) -> int:
        return self._members.size

    # -- internals ------------------------------------------------------------------------
    def similarity(self, a: Prepared, b: Prepared) -> float:
        """The pair score the threshold applies to (see the module docstring)."""
        base = float(a.vector @ b.vector) if a.vector is not None and b.vector is not None else 0.0
        return base + self._lexical_term(a, b)

    def _lexical_term(self, a: Prepared, b: Prepared) -> float:
        """Everything in the score but the cosine."""
        s = self.settings
        cross = _language(a) != _language(b)
        shared = a.evidence.shared(b.evidence, cross)
        term = s.evidence_weight * min(shared, s.evidence_cap)
        if cross:
            term += s.cross_language_bonus
        elif s.overlap_weight:
            term += s.overlap_weight * a.evidence.overlap(b.evidence)
        if s.time_decay:
            apart = abs((a.story.published - b.story.published).total_seconds()) - _GRACE
            term -= s.time_decay * max(0.0, apart) / 86400
        return term

    def _closest(self, prepared: Prepared) -> tuple[int | None, float]:
        """The closest member of the best event, and the event's score: the mean pair score
        over its members within the window (one close story does not drag an event in)."""
        m = self._members
        if not m.size:
            return None, 0.0
        at = prepared.story.published.timestamp()
        s = self.settings
        in_window = np.abs(m.times - at) <= s.window.total_seconds()
        if not in_window.any():
            return None, 0.0
        matrix = m.matrix
        if matrix is not None:
            cosines = _row_dots(matrix, prepared.vector)  # all rows: cheaper than gathering
            # Only events with a member whose cosine can still reach the threshold are scored.
            reach = (s.evidence_weight * s.evidence_cap + s.overlap_weight
                     + max(s.cross_language_bonus, 0.0))
            hopeful = {m.events[i] for i in np.flatnonzero(in_window & (cosines + reach >= s.threshold)).tolist()}
            if not hopeful:
                return None, 0.0
        else:
            cosines = None
            hopeful = {m.events[i] for i in np.flatnonzero(in_window).tolist()}
        scores: dict[str, list[tuple[float, int]]] = {}
        outlet = prepared.story.outlet if s.one_per_outlet else None
        blocked: set[str] = set()
        for i in np.flatnonzero(in_window).tolist():
            if m.events[i] not in hopeful:
                continue
            other = m.prepared[i]
            if outlet is not None and other.story.outlet == outlet:
                blocked.add(m.events[i])
            if cosines is not None:
                score = float(cosines[i]) + self._lexical_term(prepared, other)
            else:
                score = self.similarity(prepared, other)
            scores.setdefault(m.events[i], []).append((score, i))
        best, best_score = None, float("-inf")
        for event, pairs in scores.items():
            if event in blocked:
                continue
            member = max(pairs)[1]
            event_score = sum(p for p, _ in pairs) / len(pairs)
            if event_score > best_score:
                best, best_score = member, event_score
        return best, best_score

    def _add(self, event_key: str, prepared: Prepared) -> None:
        self._members.add(event_key, prepared)
        self._newest = max(self._newest, prepared.story.published.timestamp())
        self._added += 1
        if self._added % 256 == 0:
            # A story may arrive up to one window late: keep two windows behind the newest.
            self._forget_before(self._newest - 2 * self.settings.window.total_seconds())
