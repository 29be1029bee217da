"""The one place that decides whether an alert goes out: the outbox policy.

``AlertPlanner`` is storage's ``plan_alerts(session, story, revision, outcome)`` hook (bind the
per-crawl keywords with ``planner.for_outlet(...)`` or ``functools.partial``). It runs inside the
transaction that writes the revision, records ``matches`` rows and adds one ``alerts`` outbox
row per (revision, watch, channel); the sender delivers them later.

Rules (see docs/alerts.md):

* ``new``: every watch matching title + text (``Matcher``, outlet limits applied) gets a
  ``matches`` row and, per channel, an outbox row with event ``new`` -- except on the first
  crawl of an outlet, where matches are recorded as a baseline and nothing is sent unless the
  outlet or the watch says ``alert_on_first_crawl``.
* ``changed``: event ``updated`` only for watches that match the new text and whose terms hit
  a sentence (or the title) that was added or edited; whitespace/punctuation-only edits and a
  return to an earlier text never alert.
* ``duplicate`` / ``unchanged``: nothing.
* News events (stories about the same news in any language or outlet, grouped by the crawl's
  grouping step before this hook runs): a ``new`` alert belongs to the story's event, and a
  watch gets one per event and channel -- a later copy of the same news records its match but
  no outbox row -- unless the watch says ``every_copy: true``. The unique
  (event_slot, watch, channel) index backs this up against concurrent crawls. Every payload
  names the event, and lists the alerts the same news already had from other stories
  (``already_alerted``: outlet, language, title, when). ``updated`` alerts stay per story.
* ``entities:`` watches match on the entities stored for the story (direct hits with their
  parents from the entity table).
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newswatch.alerts.payload import build_payload, diff_entry, event_summary, iso
from newswatch.alerts.sender import story_locations
from newswatch.matching import Matcher, Watch
from newswatch.matching.diff import changed_sentences, split_sentences
from newswatch.storage.events import story_entities
from newswatch.storage.models import Alert, Event, Match, Outlet, Revision, Story
from newswatch.text import is_trivial_change

log = logging.getLogger("newswatch.alerts.planner")

MAX_DIFF_ENTRIES = 50


@dataclass
class Plan:
    """What one call decided (storage ignores it; tests and stats use it)."""

    outcome: str
    matched: list[str] = field(default_factory=list)  # watches matching the revision
    alerted: list[str] = field(default_factory=list)  # watches that got outbox rows
    baseline: bool = False  # first crawl: matches recorded, nothing sent
    outbox_rows: int = 0
    same_event: list[str] = field(default_factory=list)  # held back: the event already alerted


def check_watch_channels(watches: Iterable[Watch], channel_names: Iterable[str]) -> None:
    """Raise ``ValueError`` (one line) when a watch's ``notify`` names an unknown channel."""
    names = set(channel_names)
    for watch in watches:
        for i, chan in enumerate(watch.notify):
            if chan not in names:
                known = ", ".join(sorted(names)) or "none configured"
                raise ValueError(f"watch {watch.name!r}.notify[{i}]: unknown channel {chan!r} "
                                 f"(notify: {known})")


def first_crawl(session: Session, outlet: str) -> bool:
    """True while ``outlet`` is in its baseline: no crawl of it has finished with articles
    stored (``Store.end_baseline``), however many crawls were interrupted. Call it *before*
    the crawl starts."""
    done = session.scalar(select(Outlet.baseline_done_at).where(Outlet.name == outlet))
    return done is None


def _term_watch(watch: Watch, entity_table: Any = None) -> Watch:
    """The watch reduced to "which of its terms occur" (no all/exclude/outlet conditions); an
    ``entities`` entry stands for every spelling of the entity and its descendants (what an
    edited sentence must contain for an update to alert)."""
    spelt = ()
    if watch.entities and entity_table is not None:
        ids = set().union(*(entity_table.descendants(e) | {e} for e in watch.entities
                            if e in entity_table))
        spelt = tuple(dict.fromkeys(a.text for e in sorted(ids)
                                    for a in entity_table[e].spellings))
    if watch.terms or watch.regex or spelt:
        return Watch(name=watch.name, terms=watch.terms + spelt, regex=watch.regex)
    if watch.all:
        return Watch(name=watch.name, terms=watch.all)
    return Watch(name=watch.name, terms=watch.entities)


def sentence_changes(old: str, new: str) -> list[dict[str, str | None]]:
    """Non-trivial sentence edits ``old`` -> ``new`` as payload diff entries, in text order."""
    a, b = split_sentences(old), split_sentences(new)
    fresh = set(changed_sentences(old, new))
    gone = set(changed_sentences(new, old))
    out: list[dict[str, str | None]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds = [s for s in a[i1:i2] if s in gone]
        news = [s for s in b[j1:j2] if s in fresh]
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else None
            n = news[k] if k < len(news) else None
            op = "edited" if o and n else ("added" if n else "removed")
            out.append(diff_entry(op, o, n))
    return out


class AlertPlanner:
    """``AlertPlanner(watches, matcher, channel_names)``; call it as storage's hook.

    ``channel_names``: the configured ``notify:`` names; a watch without ``notify`` alerts on
    all of them. Unknown names in a watch's ``notify`` raise ``ValueError`` here.
    ``entity_table``: the config's entity table (``entities.EntityTable``), whose parents an
    ``entities:`` watch also matches (without it, only the stored ids themselves).
    """

    def __init__(self, watches: Sequence[Watch], matcher: Matcher | None = None,
                 channel_names: Iterable[str] = (), entity_table: Any = None) -> None:
        self.watches = {w.name: w for w in watches}
        self.entity_table = entity_table
        self._uses_entities = any(w.entities for w in watches)
        self.matcher = matcher if matcher is not None else Matcher(watches)
        self.channel_names = list(dict.fromkeys(channel_names))
        check_watch_channels(watches, self.channel_names)
        self._term_matcher = Matcher([_term_watch(w, entity_table) for w in watches])

    def channels_for(self, watch: Watch) -> list[str]:
        return list(watch.notify) or list(self.channel_names)

    def for_outlet(self, outlet: str, *, first_crawl: bool = False,
                   alert_on_first_crawl: bool = False
                   ) -> Callable[[Session, Story, Revision, str], Plan]:
        """The ``plan_alerts(session, story, revision, outcome)`` hook for one outlet's crawl."""
        return functools.partial(self, outlet=outlet, first_crawl=first_crawl,
                                 alert_on_first_crawl=alert_on_first_crawl)

    def __call__(self, session: Session, story: Story, revision: Revision, outcome: str, *,
                 outlet: str | None = None, first_crawl: bool = False,
                 previous_text: str | None = None, alert_on_first_crawl: bool = False) -> Plan:
        plan = Plan(outcome)
        if outcome not in ("new", "changed") or not self.watches:
            return plan
        title, text = revision.title or story.title or "", revision.text or ""
        found = {m.watch: m for m in self.matcher.match(title, text, outlet,
                                                        self._entities(session, story))}
        plan.matched = list(found)
        self._record_matches(session, story, revision, found.values())
        if not found:
            return plan

        diff: list[dict[str, Any]] | None = None
        if outcome == "new":
            hits = {name: list(m.terms) for name, m in found.items()}
            snippets = {name: m.snippet for name, m in found.items()}
        else:
            previous = self._previous(session, story, revision, previous_text)
            if previous is None:  # a return to an earlier text: alerted when first seen
                return plan
            old_title, old_text = previous
            changed = changed_sentences(old_text, text)
            if title and not is_trivial_change(old_title, title):
                changed.insert(0, title)
            if not changed:
                return plan
            term_hits = self._term_matcher.match("", "\n".join(changed), None)
            hits = {m.watch: list(m.terms) for m in term_hits if m.watch in found}
            snippets = {m.watch: m.snippet for m in term_hits if m.watch in found}
            diff = sentence_changes(old_text, text)[:MAX_DIFF_ENTRIES]
            if title and not is_trivial_change(old_title, title):
                diff.insert(0, diff_entry("edited", old_title, title))

        send = {name: terms for name, terms in hits.items()
                if not first_crawl or alert_on_first_crawl
                or self.watches[name].alert_on_first_crawl}
        plan.baseline = bool(hits) and not send
        if send:
            self._add_outbox(session, story, revision, outcome, send, snippets, diff, plan)
        return plan

    # -- helpers ----------------------------------------------------------------------------

    def _entities(self, session: Session, story: Story) -> frozenset[str]:
        """The story's stored entities with their parents (only read when a watch uses them)."""
        if not self._uses_entities:
            return frozenset()
        direct = story_entities(session, story.id)
        if self.entity_table is None:
            return frozenset(direct)
        return self.entity_table.with_parents(e for e in direct if e in self.entity_table)

    @staticmethod
    def _previous(session: Session, story: Story, revision: Revision,
                  previous_text: str | None) -> tuple[str, str] | None:
        """(title, text) this revision replaced; None when it is an earlier text come back."""
        newer = session.scalar(select(Revision.id).where(
            Revision.story_id == story.id, Revision.id > revision.id).limit(1))
        if newer is not None:
            return None
        before = session.execute(
            select(Revision.title, Revision.text)
            .where(Revision.story_id == story.id, Revision.id < revision.id)
            .order_by(Revision.id.desc()).limit(1)
        ).first()
        old_title = before.title if before is not None else ""
        if previous_text is not None:
            return old_title, previous_text
        return (old_title, before.text) if before is not None else ("", "")

    @staticmethod
    def _record_matches(session: Session, story: Story, revision: Revision,
                        matches: Iterable[Any]) -> None:
        have = set(session.scalars(select(Match.watch).where(Match.revision_id == revision.id)))
        session.add_all(
            Match(watch=m.watch, story_id=story.id, revision_id=revision.id,
                  terms=list(m.terms), snippet=m.snippet)
            for m in matches if m.watch not in have
        )

    def _add_outbox(self, session: Session, story: Story, revision: Revision, outcome: str,
                    send: dict[str, list[str]], snippets: dict[str, str],
                    diff: list[dict[str, Any]] | None, plan: Plan) -> None:
        have = {(w, c) for w, c in session.execute(
            select(Alert.watch, Alert.channel).where(Alert.revision_id == revision.id))}
        urls, outlets = story_locations(session, story.id)
        event = "new" if outcome == "new" else "updated"
        news = session.get(Event, story.event_id) if story.event_id is not None else None
        slotted: set[tuple[str, str]] = set()  # (watch, channel) the event already alerted
        earlier: list[dict[str, Any]] = []
        if news is not None:
            slotted = {(w, c) for w, c in session.execute(
                select(Alert.watch, Alert.channel).where(Alert.event_slot == news.id))}
            earlier = already_alerted(session, news.id, story.id)
        entities = story_entities(session, story.id)
        for name, terms in send.items():
            watch = self.watches[name]
            slot = news.id if news is not None and event == "new" and not watch.every_copy else None
            channels = [c for c in self.channels_for(watch) if (name, c) not in have]
            if slot is not None:
                held = [c for c in channels if (name, c) in slotted]
                if held:
                    plan.same_event.append(name)
                channels = [c for c in channels if (name, c) not in slotted]
            if not channels:
                continue
            payload = build_payload(
                event=event, watch=name, terms=terms, story_id=story.id,
                title=revision.title or story.title or "", url=urls[0] if urls else "",
                urls=urls, outlets=outlets, published=story.published,
                first_seen=story.first_seen, text=revision.text or "",
                snippet=snippets.get(name), diff=diff,
                news_event=event_summary(news) if news is not None else None,
                already_alerted=earlier, entities=entities)
            rows = [Alert(story_id=story.id, revision_id=revision.id, watch=name, channel=chan,
                          event=event, payload=payload, status="pending", attempts=0,
                          next_attempt_at=None, news_event_id=news.id if news else None,
                          event_slot=slot)
                    for chan in channels]
            session.add_all(rows)
            plan.alerted.append(name)
            plan.outbox_rows += len(rows)
        if plan.outbox_rows:
            log.info("story %s (%s): %d alert(s) planned for %s", story.id, event,
                     plan.outbox_rows, ", ".join(plan.alerted))


def already_alerted(session: Session, event_id: int, story_id: int) -> list[dict[str, Any]]:
    """The other stories of the event that already have an alert (any watch), first alerted
    first: outlet, language, title, watch and when it was planned (and sent, if it was)."""
    rows = session.execute(
        select(Alert.story_id, Alert.watch, Alert.created_at, Alert.sent_at, Story.title,
               Story.language, Outlet.name)
        .join(Story, Story.id == Alert.story_id)
        .join(Outlet, Outlet.id == Story.outlet_id)
        .where(Alert.news_event_id == event_id, Alert.story_id != story_id)
        .order_by(Alert.id)
    ).all()
    seen: dict[int, dict[str, Any]] = {}
    for sid, watch, created, sent, title, language, outlet in rows:
        if sid not in seen:
            seen[sid] = {"story_id": sid, "outlet": outlet, "language": language,
                         "title": title, "watch": watch, "alerted_at": iso(created),
                         "sent_at": iso(sent)}
    return list(seen.values())
