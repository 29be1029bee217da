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
    alert_uid: str | None = None,
) -> dict[str, Any]:
    """The webhook body (see docs/alerts.md). ``diff`` is required for, and only kept on, updates.

    ``story.excerpt`` is ``snippet`` (the matcher's, cut around the first hit) when given, else
    about 240 characters of ``text`` around the first term.
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
    payload["alert_id"] = alert_id
    payload["alert_uid"] = alert_uid
    return payload


# --- renderings ---------------------------------------------------------------------------


def subject(payload: dict[str, Any]) -> str:
    """``[newswatch] <watch>: <title>`` (one line, title cut to a sane length)."""
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


def render_text(payload: dict[str, Any]) -> str:
    """Plain-text body for email and chat channels."""
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
