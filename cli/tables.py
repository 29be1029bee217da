"""The command line's tables, readable at any width: a table where it fits, else a narrower
layout of the same facts (fewer columns, or one line of named counts per outlet), decided when
the console draws it, so an 80-column terminal reads as well as a wide one or a pipe.

    console.print(summary_view(summary))        # crawl summary (+ skip reasons and errors)
    console.print(stories_view(rows))           # newswatch stories
    console.print(alerts_view(rows))            # newswatch alerts
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from newswatch.crawler.summary import COUNTS, CrawlSummary, OutletSummary

WIDE_LISTS = 120
"""Console width from which story and alert lists get every column (a text preview, URLs...),
their long cells folded; narrower consoles get the columns that read there."""


class Fitted:
    """``wide`` when its natural width fits the console (or the console is ``wide_from``
    columns or more: a list whose long cells fold), else ``narrow(width)``."""

    def __init__(self, wide: Table, narrow: Callable[[int], RenderableType],
                 wide_from: int | None = None) -> None:
        self.wide, self.narrow, self.wide_from = wide, narrow, wide_from

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.wide_from is not None and width >= self.wide_from:
            yield self.wide
            return
        natural = Measurement.get(console, options.update(width=10**4), self.wide).maximum
        yield self.wide if natural <= width else self.narrow(width)


def _shown_time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value or "")


def _wrap_items(items: list[str], width: int, separator: str = ", ") -> str:
    """Join ``items`` with ``separator``, breaking lines only between items."""
    lines: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line}{separator}{item}" if line else item
        if line and cell_len(candidate) > width:
            lines.append(line + separator.rstrip())
            line = item
        else:
            line = candidate
    return "\n".join([*lines, line])


# ----------------------------------------------------------------------------- crawl summary


def counts_table(outlets: list[OutletSummary], title: str) -> Fitted:
    """One row of counts per outlet; narrower: one line of named counts per outlet."""
    table = Table(title=title)
    for name, _ in (("outlet", ""), *COUNTS):
        table.add_column(name, justify="left" if name == "outlet" else "right", no_wrap=True)
    for s in outlets:
        table.add_row(s.outlet, *(str(value) for _, value in s.counts()))

    def narrow(width: int) -> RenderableType:
        lines = Table(title=title, box=None, show_header=False, padding=(0, 2, 0, 0))
        lines.add_column("outlet", no_wrap=True)
        lines.add_column("counts")
        name_width = max((cell_len(s.outlet) for s in outlets), default=0) + 2
        for s in outlets:
            lines.add_row(s.outlet, _wrap_items(s.counts_in_words(), max(20, width - name_width)))
        return lines

    return Fitted(table, narrow)


def summary_notes(summary: CrawlSummary) -> list[Text]:
    """Caps reached, skip reasons and errors under the summary: one item a line, wrapped
    under its label."""
    notes = []
    for label, items in (
        ("capped", [f"{s.outlet}: {s.capped_text()}" for s in summary.outlets if s.capped]),
        ("skipped", [f"{s.outlet}: {reason} x{n}" for s in summary.outlets
                     for reason, n in s.skip_reasons.items()]),
        ("errors", [f"{s.outlet}: {e}" for s in summary.outlets for e in s.error_samples[:3]]),
    ):
        for i, item in enumerate(items):
            text = Text(f"{label}: " if i == 0 else " " * (len(label) + 2), style="bold")
            text.append(item, style="")
            notes.append(text)
    return notes


def summary_view(summary: CrawlSummary) -> RenderableType:
    seconds = (summary.ended_at - summary.started_at).total_seconds()
    table = counts_table(summary.outlets, f"crawl #{summary.run_id} ({seconds:.1f} s)")
    return Group(table, *summary_notes(summary))


# ----------------------------------------------------------------------------- stories


def stories_view(rows: list[dict[str, Any]], text_chars: int = 60) -> Fitted:
    title = f"{len(rows)} stories"
    wide = Table(title=title)
    for column in ("id", "outlet", "title", "urls", "revs", "chars", "text"):
        wide.add_column(column, overflow="fold", no_wrap=column in ("id", "outlet"))
    for row in rows:
        text = row.get("text") or ""
        wide.add_row(str(row["id"]), row.get("outlet") or "", row.get("title") or "",
                     str(len(row.get("urls") or [])), str(row.get("revisions")), str(len(text)),
                     text[:text_chars].replace("\n", " ") + ("…" if len(text) > text_chars else ""))

    def narrow(width: int) -> Table:
        table = Table(title=title)
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("outlet", no_wrap=True)
        table.add_column("revs", justify="right", no_wrap=True)
        table.add_column("title", overflow="fold", ratio=1)
        for row in rows:
            table.add_row(str(row["id"]), row.get("outlet") or "", str(row.get("revisions")),
                          row.get("title") or "")
        return table

    return Fitted(wide, narrow, wide_from=WIDE_LISTS)


# ----------------------------------------------------------------------------- alerts


def alerts_view(rows: list[dict[str, Any]]) -> Fitted:
    title = f"{len(rows)} alerts"
    wide = Table(title=title)
    for column in ("id", "status", "event", "watch", "channel", "story", "title", "attempts",
                   "sent / next try", "last error"):
        wide.add_column(column, overflow="fold")
    for r in rows:
        when = r["sent_at"] if r["status"] == "sent" else r["next_attempt_at"]
        wide.add_row(str(r["id"]), r["status"], r["event"], r["watch"], r["channel"],
                     str(r["story_id"]), r["title"] or "", str(r["attempts"]), _shown_time(when),
                     r["last_error"] or "")

    def narrow(width: int) -> Table:
        table = Table(title=title)
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("alert", overflow="fold", ratio=1)
        for r in rows:
            when = r["sent_at"] if r["status"] == "sent" else r["next_attempt_at"]
            what = Text(f"{r['event']} story {r['story_id']} for {r['watch']} -> {r['channel']}")
            what.append(f"\n{r['title'] or ''}")
            what.append(f"\n{'sent' if r['status'] == 'sent' else 'next try'} {_shown_time(when)}"
                        f", {r['attempts']} attempt(s)" if when else f"\n{r['attempts']} attempt(s)")
            if r["last_error"]:
                what.append(f"\nlast error: {r['last_error']}", style="red")
            table.add_row(str(r["id"]), r["status"], what)
        return table

    return Fitted(wide, narrow, wide_from=WIDE_LISTS)


# ----------------------------------------------------------------------------- watch test


def watch_matches_view(name: str, found: list[Any]) -> Fitted:
    """``watch test``: the stored stories a watch matches today (story, outlet, title, terms)."""
    title = f"watch {name}: {len(found)} stor{'y' if len(found) == 1 else 'ies'} match today"
    wide = Table(title=title)
    for column in ("story", "outlet", "title", "terms", "snippet"):
        wide.add_column(column, overflow="fold", no_wrap=column in ("story", "outlet"))
    for f in found:
        wide.add_row(str(f.story_id), f.outlet or "", f.title, ", ".join(f.terms),
                     f.snippet.replace("\n", " "))

    def narrow(width: int) -> Table:
        table = Table(title=title)
        table.add_column("story", justify="right", no_wrap=True)
        table.add_column("title", overflow="fold", ratio=1)
        table.add_column("terms", overflow="fold")
        for f in found:
            table.add_row(str(f.story_id), f.title, ", ".join(f.terms))
        return table

    return Fitted(wide, narrow, wide_from=WIDE_LISTS)
