"""``newswatch watch test|backfill``: run one watch over the stories already stored.

``test`` lists what the watch matches today (each story's latest revision, through the same
``Matcher`` a crawl uses); ``backfill`` records those matches through the same
``AlertPlanner`` a crawl uses, as a baseline (nothing sent) unless ``alert`` is set, when the
planner adds outbox rows ("new" events) for the watch's channels. Re-running records nothing
twice: the planner skips matches and alerts already in the ledger.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newswatch.config import Config, ConfigError

BATCH = 200


@dataclass
class Found:
    story_id: int
    revision_id: int
    title: str
    outlet: str | None  # the outlet the match was evaluated for
    terms: tuple[str, ...]
    snippet: str


@dataclass
class BackfillReport:
    matched: int = 0  # stories the watch matched (their matches are in the ledger now)
    alerts: int = 0  # outbox rows added


def watch_named(config: Config, name: str) -> Any:
    for watch in config.watch_rules:
        if watch.name == name:
            return watch
    known = ", ".join(w.name for w in config.watch_rules) or "none configured"
    raise ConfigError(f"{config.path or 'config'}: watches: no watch named {name!r} "
                      f"(watches: {known})")


def _outlet_for(watch: Any, outlets: list[str]) -> str | None | bool:
    """The story's first outlet the watch applies to (None: the story has no URL left);
    False when the watch applies to none of them."""
    if not outlets:
        return None
    for outlet in outlets:
        if watch.allows_outlet(outlet):
            return outlet
    return False


def matches_today(store: Any, watch: Any, since: datetime | None = None) -> Iterator[Found]:
    """What ``watch`` matches among stored stories (latest revisions), oldest story first."""
    from newswatch.matching import Matcher
    from newswatch.storage.queries import latest_revisions

    matcher = Matcher([watch])
    after = 0
    while True:
        with store.reading() as session:
            batch = latest_revisions(session, since=since, after=after, limit=BATCH)
        if not batch:
            return
        after = batch[-1]["story_id"]
        for row in batch:
            outlet = _outlet_for(watch, row["outlets"])
            if outlet is False:
                continue
            for m in matcher.match(row["title"], row["text"], outlet):
                yield Found(row["story_id"], row["revision_id"], row["title"], outlet,
                            m.terms, m.snippet)


def backfill(store: Any, config: Config, watch: Any, since: datetime | None = None,
             alert: bool = False) -> BackfillReport:
    """Record the watch's matches over stored stories (see the module docstring)."""
    from newswatch.alerts.planner import AlertPlanner
    from newswatch.storage.models import Revision, Story

    if not alert:  # a baseline: the planner records matches and sends nothing
        watch = dataclasses.replace(watch, alert_on_first_crawl=False)
    planner = AlertPlanner([watch], channel_names=config.channels,
                           entity_table=config.entity_table)
    report = BackfillReport()
    found = list(matches_today(store, watch, since))
    for start in range(0, len(found), BATCH):
        with store.transaction() as session:
            for item in found[start:start + BATCH]:
                story = session.get(Story, item.story_id)
                revision = session.get(Revision, item.revision_id)
                if story is None or revision is None:
                    continue
                plan = planner(session, story, revision, "new", outlet=item.outlet,
                               first_crawl=not alert)
                report.matched += watch.name in plan.matched
                report.alerts += plan.outbox_rows
    return report
