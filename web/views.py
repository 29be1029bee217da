"""What pages, API and feeds show, worked out once: a story's revisions with their diffs, the
outlets' health with the "went silent" warning, the watches with their matches, and plain
JSON values (datetimes as ISO 8601, as ``newswatch stories --json`` prints them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from newswatch import clock
from newswatch.capped import capped_text
from newswatch.matching.diff import inline_diff
from newswatch.secrets import redact_data

SILENT_INTERVALS = 8  # no new story for this many crawl intervals ...
SILENT_FLOOR = timedelta(days=1)  # ... and at least this long: the outlet "went silent"


def masked(value: Any) -> Any:
    """``value`` (a string, or dicts and lists of them) with secrets masked as the command line
    masks its output (``newswatch/secrets.py``: every ``${VAR}`` value of the config, URL
    passwords): what pages, the API and feeds show. Markup (already rendered) is left as is."""
    if isinstance(value, Markup):
        return value
    return redact_data(value)


def json_value(value: Any) -> Any:
    """What JSON holds for a value the json module cannot write (``json.dumps(data,
    default=json_value)``): a datetime's ISO string."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def history(story: dict[str, Any]) -> list[dict[str, Any]]:
    """The story's revisions, newest first, each with ``number`` (1 = first seen),
    ``title_diff`` and ``diff``: the ``matching.diff.inline_diff`` pieces ``[op, text]`` from
    the revision before (the first revision's diff is its whole text, inserted), and
    ``text_changed``."""
    out = []
    previous: dict[str, Any] | None = None
    for number, rev in enumerate(story["history"], start=1):
        old_title = previous["title"] if previous else ""
        old_text = previous["text"] if previous else ""
        diff = ([list(p) for p in inline_diff(old_text, rev["text"] or "")] if previous
                else [["insert", rev["text"] or ""]])
        out.append({
            **rev,
            "number": number,
            "title_diff": [list(p) for p in inline_diff(old_title, rev["title"] or "")]
            if previous and old_title != rev["title"] else None,
            "diff": diff,
            "text_changed": any(op != "equal" for op, _ in diff),
        })
        previous = rev
    return list(reversed(out))


def outlet_rows(health: dict[str, dict[str, Any]], intervals: dict[str, int],
                now: datetime | None = None) -> list[dict[str, Any]]:
    """Each outlet's health (``storage.queries.outlet_health``) with ``interval`` (seconds,
    from the config; None for an outlet no longer configured), ``needs_browser`` (pages of the
    last crawl skipped for lack of a browser), ``capped`` (the last crawl reached
    ``max_new_articles`` and left links for later: the crawl summary's words; else None), and
    ``warning``: why the outlet looks silent
    (None when it does not)."""
    now = now or clock.now()
    rows = []
    for name in sorted(health):
        entry = dict(health[name])
        run = entry.get("run")
        interval = intervals.get(name)
        entry["interval"] = interval
        reasons = (run or {}).get("skip_reasons") or {}
        entry["needs_browser"] = sum(n for r, n in reasons.items() if "browser" in r)
        entry["capped"] = capped_text(int((run or {}).get("new_link_cap") or 0),
                                      int((run or {}).get("capped") or 0))
        entry["warning"] = silent_warning(entry, interval, now)
        entry["configured"] = name in intervals
        rows.append(entry)
    return rows


def silent_warning(entry: dict[str, Any], interval: int | None, now: datetime) -> str | None:
    """"went silent" when the last crawl got nothing but failures and skips, or when no new
    story came for SILENT_INTERVALS intervals (at least SILENT_FLOOR) while it was crawled."""
    run = entry.get("run")
    if run:
        good = sum(int(run.get(k, 0)) for k in
                   ("new", "changed", "unchanged", "duplicate", "not_modified"))
        bad = int(run.get("errors", 0)) + int(run.get("skipped", 0))
        if bad and not good:
            return f"went silent: every page of the last crawl failed or was skipped ({bad})"
        if int(run.get("fetched", 0)) == 0 and not good and not bad:
            return "went silent: the last crawl fetched nothing"
    if interval and run and entry.get("last_new"):
        quiet = now - entry["last_new"]
        limit = max(timedelta(seconds=interval * SILENT_INTERVALS), SILENT_FLOOR)
        crawled_since = run.get("ended_at") or run.get("started_at")
        if quiet > limit and crawled_since and crawled_since > entry["last_new"] + limit:
            return (f"went silent: no new story for {_span(quiet)} "
                    f"({quiet.total_seconds() / interval:.0f} crawl intervals)")
    return None


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def watch_rows(watches: list[Any], matches: dict[str, tuple[int, list[dict[str, Any]]]]
               ) -> list[dict[str, Any]]:
    """Each configured watch's rule and its matches (total stories, the latest ones)."""
    rows = []
    for w in watches:
        total, recent = matches.get(w.name, (0, []))
        rows.append({"name": w.name, "terms": list(w.terms), "all": list(w.all),
                     "exclude": list(w.exclude), "regex": list(w.regex),
                     "outlets": list(w.outlets), "notify": list(w.notify),
                     "entities": list(w.entities), "every_copy": w.every_copy,
                     "matched": total, "recent": recent})
    return rows


def entity_family(table: Any, entity: str) -> tuple[str, ...]:
    """The entity and its descendants (``deepseek`` -> its models too), sorted; an id the
    table does not know is looked up as it is."""
    return tuple(sorted(table.descendants(entity) | {entity})) if entity in table else (entity,)


def entity_facets(table: Any, pairs: list[tuple[int, str]], limit: int = 20
                  ) -> list[dict[str, Any]]:
    """How many stories mention each entity, parents included (a story about DeepSeek-R1
    counts for deepseek too), most first: id, label, kind, stories."""
    per_story: dict[int, set[str]] = {}
    for story_id, entity in pairs:
        per_story.setdefault(story_id, set()).add(entity)
    counts: dict[str, int] = {}
    for entities in per_story.values():
        known = [e for e in entities if e in table]
        for e in table.with_parents(known) | {e for e in entities if e not in table}:
            counts[e] = counts.get(e, 0) + 1
    rows = []
    for e, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]:
        entity = table.entities.get(e)
        rows.append({"id": e, "label": (entity.label_en or e) if entity else e,
                     "label_zh": entity.label_zh if entity else "",
                     "kind": entity.kind if entity else None, "stories": n})
    return rows


def group_by_event(rows: list[dict[str, Any]], members: dict[int, list[dict[str, Any]]]
                   ) -> list[dict[str, Any]]:
    """Stories folded by news event, in the order the first of each comes: each group is the
    lead story (``story``), the event (``event_id``, None when not grouped) and ``copies``: the
    event's other stories (on this page or not) with language, outlet, title and URL."""
    groups: list[dict[str, Any]] = []
    seen: dict[int, dict[str, Any]] = {}
    for row in rows:
        event_id = row.get("event_id")
        if event_id is not None and event_id in seen:
            continue
        copies = [m for m in members.get(event_id, []) if m["id"] != row["id"]] \
            if event_id is not None else []
        group = {"story": row, "event_id": event_id, "copies": copies,
                 "languages": sorted({row.get("language") or "?"}
                                     | {m["language"] or "?" for m in copies})}
        groups.append(group)
        if event_id is not None:
            seen[event_id] = group
    return groups


def when(value: datetime | None) -> str:
    """A time as people read it here: ``2026-03-21 09:00 UTC``; "–" for none."""
    if not isinstance(value, datetime):
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def href(url: str | None) -> str | None:
    """The URL if a link to it is safe (http or https), else None: a scraped
    ``javascript:`` URL is shown as text, never linked."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None
