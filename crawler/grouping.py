"""The crawl's grouping step: a story's entities and its news event, decided when it is stored.

``GroupingStep(config)`` is storage's ``group(session, story, revision, outcome)`` hook (bound to
an outlet with ``for_outlet``); ``Store.record_article`` runs it in the article's transaction,
before ``plan_alerts``, so the alert planner sees the story's event and entities and all of it
commits or rolls back together. Storage decides a story's identity; this step works a level
above it and never changes which story a page is:

* ``new``: tag entities (``story_entities``), then assign the story to an event (an existing
  one within the window, or a new one it starts) with the events room's ``EventGrouper``.
* ``changed``: re-tag the entities; the story keeps its event.
* ``duplicate`` (a copy of a stored story) / ``unchanged``: nothing; it is that story already.

Several crawl processes may store at once (the daemon's children): each decision holds the
grouping lock (storage.events) and first restores what other processes grouped since this one
last looked (``story_vectors.id`` > its high-water mark; the stored vectors, so nothing is
encoded twice). When the story grouped last did not commit (its transaction rolled back after
this hook), the step forgets its memory and restores it from storage.

In an outlet's first crawl, where every story is new, a story's title and lead are encoded
ahead in the extraction workers when its page looked new (``LeadPipeline``; ``lead`` here): the
database thread, which every story waits for, then only decides. The workers' fork server
loads the encoder's model once, before forking them, while the crawl starts (``run_crawl``:
``workers.start_early(encoder=...)``, ``warm_up(in_workers=True)``). A recrawl's few new
stories are encoded here, on the database thread, by a model loaded once (``warm_up()``) when
the crawl finds its first new article URL, else on the first new story; a crawl of 304s never
loads it.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from newswatch.config import Config, ConfigError
from newswatch.crawler import workers
from newswatch.entities import EntityTable, EntityTagger, load_table
from newswatch.events import EncoderUnavailable, EventGrouper, Lead, Story, encoder_for
from newswatch.events.grouper import TUNED
from newswatch.storage import events as stored
from newswatch.storage.models import Event
from newswatch.storage.types import utcnow

__all__ = ["GroupingStep"]

log = logging.getLogger("newswatch.events")
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


class GroupingStep:
    def __init__(self, table: EntityTable | None = None, encoder: str = "auto",
                 window: timedelta = timedelta(hours=72)) -> None:
        self.table = table if table is not None else load_table()
        self.tagger = EntityTagger(self.table)
        self.encoder_name = encoder
        self.window = window
        self._grouper: EventGrouper | None = None
        self._seen = -1  # story_vectors.id high-water mark; -1: nothing restored yet
        self._mine: set[int] = set()  # stories this process grouped (already in the grouper)
        self._events: dict[str, int] = {}  # grouper event key -> events.id
        self._keys: dict[int, str] = {}  # events.id -> grouper event key
        self._last: int | None = None  # the story grouped last (checked: did it commit?)
        self._building = threading.Lock()  # the grouper is built once, by warm_up or on use
        self._warming: threading.Thread | None = None
        self._ahead = False  # new stories' leads are encoded in the crawl's workers (warm_up)

    @classmethod
    def from_config(cls, config: Config) -> GroupingStep:
        return cls(config.entity_table, config.events.encoder,
                   timedelta(seconds=config.events.window_seconds))

    def check(self) -> None:
        """Raise ``ConfigError`` (one line) when ``events.encoder`` names an encoder whose
        package is not installed; ``auto`` and ``lexical`` always work."""
        if self.encoder_name in ("auto", "lexical"):
            return
        try:
            self.grouper  # noqa: B018 - builds the encoder
        except RuntimeError as exc:
            raise ConfigError(str(exc)) from None

    @property
    def grouping(self) -> str:
        """What groups: the encoder's name, or "lexical"."""
        encoder = self.grouper.encoder
        return encoder.name if encoder is not None else "lexical"

    @property
    def grouper(self) -> EventGrouper:
        with self._building:  # waits for a warm_up under way
            return self._build()

    def _build(self) -> EventGrouper:
        if self._grouper is None:
            try:
                encoder = encoder_for(self.encoder_name)
            except EncoderUnavailable as exc:
                raise RuntimeError(f"events.encoder {self.encoder_name}: {exc}") from None
            settings = TUNED.get(encoder.name if encoder else None, TUNED[None])
            self._grouper = EventGrouper(encoder, self.tagger, replace(settings, window=self.window))
            log.info("events grouped by %s", encoder.name if encoder else "lexical evidence")
        return self._grouper

    def warm_up(self, in_workers: bool = False) -> None:
        """Build the grouper and load its encoder's model on a thread of its own (once), so
        the first new story does not wait for it on the database thread; a failure is left
        for that story to raise. ``in_workers`` (a crawl whose stories are all new: an
        outlet's first): the workers' fork server loads it (``workers.start_early``) and the
        workers encode each new story's lead (``lead_encoder``); otherwise (a recrawl's few
        new stories) this process does, once, not every worker. Not a daemon thread: a
        process that ends meanwhile (a short crawl) waits for the load, as the interpreter's
        shutdown would otherwise stop the thread inside the tokenizer's C++ code and abort the
        process."""
        if self._warming is not None or self._grouper is not None:
            return
        self._ahead = in_workers and workers.worker_count() > 0
        self._warming = threading.Thread(target=self._load, name="newswatch-encoder-load")
        self._warming.start()

    def _load(self) -> None:
        with self._building:
            try:
                encoder = self._build().encoder
                if encoder is not None and not self._ahead:  # else the workers' fork server
                    encoder.encode(["warm up"])  # loads it; here its weights load on first use
            except Exception as exc:  # e.g. events.encoder not installed: said again on use
                log.debug("encoder warm-up failed: %s", exc)

    def lead_encoder(self) -> str | None:
        """The encoder whose name the crawl's workers encode new stories' leads with
        (``workers.encode_lead``), when ``warm_up(in_workers=True)`` asked for it; None when
        this process encodes them itself or nothing is encoded (lexical grouping)."""
        if not self._ahead:  # (and self.grouper could wait for a load here)
            return None
        encoder = self.grouper.encoder
        return encoder.name if encoder is not None else None

    def for_outlet(self, outlet: str, lead: Lead | None = None) -> Any:
        """The ``group`` hook for one outlet's page (``lead``: its lead, encoded ahead)."""
        return functools.partial(self, outlet=outlet, lead=lead)

    def __call__(self, session: Any, story: Any, revision: Any, outcome: str, *,
                 outlet: str, lead: Lead | None = None) -> int | None:
        """Tag and group one stored story; returns its event id (None when not grouped).
        ``lead``: its title and lead encoded ahead (by a worker), used when they match."""
        if outcome not in ("new", "changed"):
            return None
        title, text = revision.title or story.title or "", revision.text or ""
        entities = {hit.entity for hit in self.tagger.tag(title, text)}
        if outcome == "changed":
            stored.set_story_entities(session, story.id, entities)
            return None
        stored.add_story_entities(session, story.id, entities)
        at = story.published or story.first_seen or utcnow()
        # encoding needs no other story: done before the lock, which only the decision holds
        prepared = self.grouper.prepare(Story.from_text(str(story.id), title, text,
                                                        story.language, at, outlet), lead=lead)
        # what other processes grouped is restored before the lock too (their stories' ids
        # are taken under the lock, which is held to commit: every id below the highest one
        # seen has committed or rolled back); under the lock only the latest few are left
        self._catch_up(session, at)
        stored.lock_grouping(session)
        if self._last is not None and not stored.was_grouped(session, self._last):
            self._forget()  # the last story's transaction rolled back: memory is not the truth
        self._catch_up(session, at)
        grouper = self.grouper
        assignment = grouper.assign(prepared)
        self._mine.add(story.id)
        vector = prepared.vector.astype(np.float32).tobytes() if prepared.vector is not None else None
        kept = {"encoder": grouper.encoder.name if grouper.encoder else None, "vector": vector}
        event_id = None if assignment.new else self._events.get(assignment.event_key)
        if event_id is not None and session.get(Event, event_id) is None:
            event_id = None  # that event's transaction rolled back: start afresh
        if event_id is None:
            event_id = stored.create_event(session, story.id, title=title, at=at,
                                           language=story.language, outlet=outlet,
                                           grouping=self.grouping, **kept)
        else:
            stored.join_event(session, story.id, event_id, score=assignment.score, at=at,
                              language=story.language, outlet=outlet, **kept)
        self._events[assignment.event_key] = event_id
        self._keys.setdefault(event_id, assignment.event_key)
        self._last = story.id
        log.debug("story %s: event %s (%s, score %.2f)", story.id, event_id,
                  "new" if assignment.new else "joined", assignment.score)
        return event_id

    def _forget(self) -> None:
        """Drop what this process remembers; the next story restores it from storage."""
        if self._grouper is not None:
            old = self._grouper
            self._grouper = EventGrouper(old.encoder, self.tagger, old.settings)
        self._seen, self._mine, self._events, self._keys, self._last = -1, set(), {}, {}, None

    def _catch_up(self, session: Any, at: datetime) -> None:
        """Remember the stories other processes grouped since this one last looked (the first
        time: those within two windows of now, or of ``at`` when that is earlier)."""
        if self._seen < 0:
            self._seen = 0
            not_before = min(utcnow(), at) - 2 * self.window
        else:
            not_before = _LONG_AGO
            # the usual answer is "only what this process grouped itself": ids, not texts
            grouped = stored.grouped_after(session, self._seen)
            if all(story_id in self._mine for _, story_id in grouped):
                if grouped:
                    self._seen = grouped[-1][0]
                if len(grouped) >= stored.BATCH:
                    self._catch_up(session, at)
                return
        rows = stored.grouped_since(session, self._seen, not_before)
        grouper = self.grouper
        encoder = grouper.encoder
        fresh = [r for r in rows if r.story_id not in self._mine]
        if fresh:
            stories = [Story.from_text(str(r.story_id), r.title, r.text, r.language,
                                       r.published, r.outlet) for r in fresh]
            stale = [i for i, r in enumerate(fresh) if encoder is not None
                     and (r.encoder != encoder.name or r.vector is None)]
            vectors: list[Any] = [None] * len(fresh)
            if encoder is not None:
                for i, r in enumerate(fresh):
                    if i not in stale:
                        vectors[i] = np.frombuffer(r.vector, dtype=np.float32)
                if stale:  # grouped by another encoder: encode them once here
                    for i, p in zip(stale, grouper.prepare_many([stories[i] for i in stale]),
                                    strict=True):
                        vectors[i] = p.vector
            for r, s, v in zip(fresh, stories, vectors, strict=True):
                key = self._keys.setdefault(r.event_id, f"event:{r.event_id}")
                self._events[key] = r.event_id
                grouper.restore(key, grouper.prepare(s, vector=v))
                self._mine.add(r.story_id)
        if rows:
            self._seen = rows[-1].seq
        if len(rows) >= stored.BATCH:  # more than one batch waiting
            self._catch_up(session, at)
