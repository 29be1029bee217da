"""The alert payload (the webhook JSON body) and the email/chat renderings made from it.

One dict is built when an alert is planned and stored in the outbox row; the sender adds
``alert_id`` / ``alert_uid`` and refreshes ``story.urls`` / ``story.outlets`` at send time. Every channel renders
from that same dict, so the webhook body, the email and the chat message always agree.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

Event = Literal["new", "updated"]
EXCERPT_CHARS = 240
SUBJECT_TITLE_CHARS = 120


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC (naive datetimes are taken as UTC), or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def excerpt(text: str, terms: Iterable[str] = (), width: int = EXCERPT_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first term found (else its start)."""
    flat = " ".join((text or "").split())
    if len(flat) <= width:
        return flat
    low = flat.casefold()
    hits = [i for t in terms if t and (i := low.find(t.casefold())) >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    start = min(start, len(flat) - width)
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def diff_entry(op: str, old: str | None, new: str | None) -> dict[str, str | None]:
    """One diff item: ``{"op": "added"|"edited"|"removed", "old": ..., "new": ...}``."""
    if op not in ("added", "edited", "removed"):
        raise ValueError(f"diff op: expected added, edited or removed, got {op!r}")
    return {"op": op, "old": old, "new": new}


def build_payload(
    *,
    event: Event,
    watch: str,
    terms: Sequence[str],
    story_id: int,
    title: str,
    url: str,
    urls: Sequence[str] = (),
    outlets: Sequence[str] = (),
    published: datetime | None = None,
    first_seen: datetime | None = None,
    text: str = "",
    snippet: str | None = None,
    diff: Sequence[dict[str, Any]] | None = None,
    alert_id: int | None = None,
    news_event: dict[str, Any] | None = None,
    already_alerted: Sequence[dict[str, Any]] = (),
    entities: Sequence[str] = (),
    alert_uid: str | None = None,
) -> dict[str, Any]:
    """The webhook body (see docs/alerts.md). ``diff`` is required for, and only kept on, updates.

    ``story.excerpt`` is ``snippet`` (the matcher's, cut around the first hit) when given, else
    about 240 characters of ``text`` around the first term.
    ``news_event``: the story's event (``event_summary``), ``already_alerted``: alerts the same
    news had from other stories, ``entities``: the entity ids the story mentions.
    """
    if event not in ("new", "updated"):
        raise ValueError(f"event: expected 'new' or 'updated', got {event!r}")
    if event == "updated" and diff is None:
        raise ValueError("diff: required for an 'updated' alert")
    terms = list(dict.fromkeys(terms))
    payload: dict[str, Any] = {
        "event": event,
        "watch": watch,
        "terms": terms,
        "story": {
            "id": story_id,
            "title": title,
            "url": url,
            "urls": list(dict.fromkeys([url, *urls])),
            "outlets": list(dict.fromkeys(outlets)),
            "published": iso(published),
            "first_seen": iso(first_seen),
            "excerpt": " ".join(snippet.split()) if snippet else excerpt(text, terms),
        },
    }
    if event == "updated":
        payload["diff"] = [dict(d) for d in diff or ()]
    payload["news_event"] = news_event
    payload["already_alerted"] = [dict(a) for a in already_alerted]
    payload["entities"] = list(entities)
    payload["alert_id"] = alert_id
    payload["alert_uid"] = alert_uid
    return payload


def event_summary(event: Any) -> dict[str, Any]:
    """The payload's ``news_event`` from a stored event: id, title (its first story's),
    stories, languages, outlets, started_at."""
    return {"id": event.id, "title": event.title, "stories": event.story_count,
            "languages": list(event.languages or []), "outlets": list(event.outlets or []),
            "started_at": iso(event.started_at)}


def _event_lines(payload: dict[str, Any]) -> list[str]:
    """What the text rendering says about the news event and earlier alerts of it."""
    lines: list[str] = []
    news = payload.get("news_event")
    if news:
        langs = ", ".join(news.get("languages") or [])
        lines.append(f"Event #{news['id']}: {news.get('title') or '(untitled)'} "
                     f"({news.get('stories')} stories; {langs}; {', '.join(news.get('outlets') or [])})")
    for a in payload.get("already_alerted") or []:
        lines.append(f"Already alerted: {a.get('outlet')} ({a.get('language') or '?'}) "
                     f"{a.get('title') or ''} at {a.get('sent_at') or a.get('alerted_at')}")
    if payload.get("entities"):
        lines.append(f"Entities: {', '.join(payload['entities'])}")
    return lines


# --- renderings ---------------------------------------------------------------------------


def subject(payload: dict[str, Any]) -> str:
    """``[newswatch] <watch>: <title>`` (one line, title cut to a sane length); a digest's:
    ``[newswatch] daily digest: 3 stories (2026-01-05)``."""
    if payload.get("event") == "digest":
        d, n = payload["digest"], len(payload.get("stories") or [])
        day = str(d.get("period") or "").partition(" ")[2][:10]
        return f"[newswatch] {d.get('every')} digest: {n} stor{'y' if n == 1 else 'ies'} ({day})"
    title = " ".join(str(payload["story"].get("title") or "").split()) or "(untitled)"
    if len(title) > SUBJECT_TITLE_CHARS:
        title = title[: SUBJECT_TITLE_CHARS - 1] + "…"
    return f"[newswatch] {payload['watch']}: {title}"


def _diff_lines(diff: Sequence[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for d in diff:
        if d.get("op") == "edited":
            lines += [f"  - {d.get('old') or ''}", f"  + {d.get('new') or ''}"]
        elif d.get("op") == "removed":
            lines.append(f"  - {d.get('old') or ''}")
        else:
            lines.append(f"  + {d.get('new') or ''}")
    return lines


def _local(when: str | None, tz: str) -> str:
    """An ISO UTC time as ``2026-01-05 08:00`` in the time zone ``tz``."""
    from zoneinfo import ZoneInfo

    if not when:
        return ""
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _digest_heading(payload: dict[str, Any]) -> str:
    d, n = payload["digest"], len(payload.get("stories") or [])
    tz = d.get("tz") or "UTC"
    return (f"newswatch {d.get('every')} digest for channel '{d.get('channel')}': {n} "
            f"stor{'y' if n == 1 else 'ies'}, {_local(d.get('from'), tz)} to "
            f"{_local(d.get('until'), tz)} ({tz})")


def _story_facts(s: dict[str, Any]) -> list[str]:
    """A digest story's one-line facts: what happened, its watches and terms, its outlets."""
    what = " and ".join("new" if e == "new" else "updated" for e in s.get("events") or [])
    facts = [what.capitalize(), f"watches: {', '.join(s.get('watches') or [])}"]
    if s.get("terms"):
        facts.append(f"terms: {', '.join(s['terms'])}")
    if s.get("outlets"):
        facts.append(f"outlets: {', '.join(s['outlets'])}")
    return [f for f in facts if f]


def render_digest_text(payload: dict[str, Any]) -> str:
    """Plain-text body of a digest: each story once."""
    lines = [_digest_heading(payload)]
    for i, s in enumerate(payload.get("stories") or [], 1):
        lines += ["", f"{i}. {s.get('title') or '(untitled)'}", f"   {s.get('url') or ''}",
                  f"   {' · '.join(_story_facts(s))}"]
        if s.get("excerpt"):
            lines.append(f"   {s['excerpt']}")
        others = [u for u in s.get("urls") or [] if u != s.get("url")]
        lines += [f"   also at {u}" for u in others]
    lines += ["", f"digest {payload['digest'].get('id')}"]
    return "\n".join(lines) + "\n"


def render_digest_html(payload: dict[str, Any]) -> str:
    """HTML body of a digest (every value escaped)."""
    e = html.escape
    items = []
    for s in payload.get("stories") or []:
        url = s.get("url") or ""
        item = [f'<li><a href="{e(url, quote=True)}">{e(s.get("title") or "(untitled)")}</a>',
                f"<br><small>{e(' · '.join(_story_facts(s)))}</small>"]
        if s.get("excerpt"):
            item.append(f"<br>{e(s['excerpt'])}")
        item.append("</li>")
        items.append("".join(item))
    return "\n".join([
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
        f"<p>{e(_digest_heading(payload))}</p>",
        f"<ol>{''.join(items)}</ol>",
        f"<p><small>digest {e(str(payload['digest'].get('id')))}</small></p>",
        "</body></html>",
    ])


def render_text(payload: dict[str, Any]) -> str:
    """Plain-text body for email and chat channels."""
    if payload.get("event") == "digest":
        return render_digest_text(payload)
    s = payload["story"]
    what = "Story updated" if payload.get("event") == "updated" else "New story"
    lines = [
        f"{what} for watch '{payload['watch']}' (terms: {', '.join(payload.get('terms') or [])})",
        "",
        s.get("title") or "(untitled)",
        s.get("url") or "",
    ]
    if s.get("published"):
        lines.append(f"Published: {s['published']}")
    if s.get("outlets"):
        lines.append(f"Outlets: {', '.join(s['outlets'])}")
    lines += _event_lines(payload)
    if s.get("excerpt"):
        lines += ["", s["excerpt"]]
    if payload.get("diff"):
        lines += ["", "Changed sentences:", *_diff_lines(payload["diff"])]
    others = [u for u in s.get("urls") or [] if u != s.get("url")]
    if others:
        lines += ["", "Also at:", *(f"  {u}" for u in others)]
    if payload.get("alert_id") is not None:
        lines += ["", f"alert #{payload['alert_id']}" + _uid_note(payload)]
    return "\n".join(lines) + "\n"


def _uid_note(payload: dict[str, Any]) -> str:
    """`` (uid <hex>)``: the alert's identity, the same on every retry (chat receivers and
    people can tell a resent alert by it)."""
    return f" (uid {payload['alert_uid']})" if payload.get("alert_uid") else ""


def render_html(payload: dict[str, Any]) -> str:
    """HTML body for email (every value escaped)."""
    if payload.get("event") == "digest":
        return render_digest_html(payload)
    e = html.escape
    s = payload["story"]
    what = "Story updated" if payload.get("event") == "updated" else "New story"
    terms = ", ".join(e(t) for t in payload.get("terms") or [])
    url = s.get("url") or ""
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
        f"<p>{what} for watch <b>{e(payload['watch'])}</b> (terms: {terms})</p>",
        f'<h2><a href="{e(url, quote=True)}">{e(s.get("title") or "(untitled)")}</a></h2>',
    ]
    meta = []
    if s.get("published"):
        meta.append(f"Published: {e(s['published'])}")
    if s.get("outlets"):
        meta.append(f"Outlets: {e(', '.join(s['outlets']))}")
    meta += [e(line) for line in _event_lines(payload)]
    if meta:
        parts.append(f"<p>{' &middot; '.join(meta)}</p>")
    if s.get("excerpt"):
        parts.append(f"<blockquote>{e(s['excerpt'])}</blockquote>")
    if payload.get("diff"):
        items = []
        for d in payload["diff"]:
            old = f"<del>{e(d.get('old') or '')}</del>" if d.get("old") else ""
            new = f"<ins>{e(d.get('new') or '')}</ins>" if d.get("new") else ""
            items.append(f"<li>{old}{'<br>' if old and new else ''}{new}</li>")
        parts.append(f"<p>Changed sentences:</p><ul>{''.join(items)}</ul>")
    others = [u for u in s.get("urls") or [] if u != url]
    if others:
        links = "".join(f'<li><a href="{e(u, quote=True)}">{e(u)}</a></li>' for u in others)
        parts.append(f"<p>Also at:</p><ul>{links}</ul>")
    if payload.get("alert_id") is not None:
        parts.append(f"<p><small>alert #{e(str(payload['alert_id']) + _uid_note(payload))}"
                     "</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
