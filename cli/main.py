"""The ``newswatch`` command line (typer + rich): crawl, stories, demo, db upgrade, and more.

Commands only parse arguments, call into the packages and print; errors that stop a command
are one line on stderr with exit code 2 (bad config) or 1 (cannot run, e.g. database down).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from newswatch import __version__
from newswatch.cli.helptext import Command, Group
from newswatch.config import Config, ConfigError, load_config, parse_config

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=Group,
                  help="newswatch: scrape AI news outlets, store each story once, watch for changes.")
db_app = typer.Typer(no_args_is_help=True, cls=Group, help="Database schema commands.")
app.add_typer(db_app, name="db")


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"newswatch {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="Print the version and exit.")] = False,
) -> None:
    """newswatch: scrape AI news outlets, store each story once, watch for changes."""

def _console(stderr: bool = False) -> Console:
    """Rich console; piped output gets 140 columns (rich's 80 would fold the tables)."""
    stream = sys.stderr if stderr else sys.stdout
    wide = None if stream.isatty() or "COLUMNS" in os.environ else 140
    return Console(stderr=stderr, width=wide)


out = _console()
err = _console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="PATH", help="Config file (else $NEWSWATCH_CONFIG, else ./newswatch.yaml)."),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def open_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def open_store(config: Config) -> Any:
    from newswatch.storage.db import connect
    from newswatch.storage.errors import DatabaseError

    try:
        return connect(config.database)
    except DatabaseError as exc:
        raise fail(str(exc), code=1) from None


def setup_logging(verbose: bool) -> None:
    """Warnings from everyone; newswatch's own INFO lines (skips, crawl steps) when verbose."""
    from rich.logging import RichHandler

    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(console=err, show_path=False, show_time=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    own_level = logging.INFO if verbose else logging.WARNING

    def keep(record: logging.LogRecord) -> bool:
        if record.name.startswith("newswatch"):
            return record.levelno >= own_level
        return record.levelno >= logging.WARNING

    handler.addFilter(keep)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.getLogger("newswatch").setLevel(logging.INFO)


# --------------------------------------------------------------------------- crawl


def open_alerting(config: Config) -> Any:
    from newswatch.cli.alerting import build_alerting

    return build_alerting(config)


def crawl_and_report(config: Config, outlets: list[str] | None, *, verbose: bool,
                     alerts: bool = True, deliver: bool = True) -> Any:
    from newswatch.cli.alerting import alert_hooks
    from newswatch.cli.alerting import deliver as deliver_alerts
    from newswatch.cli.progress import CrawlProgress
    from newswatch.crawler.run import run_crawl
    from newswatch.spiders import spider_class

    try:
        selected = config.select(outlets)
        for outlet in selected:
            spider_class(outlet.spider)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except KeyError as exc:
        raise fail(f"{config.path or 'config'}: outlet {outlet.name!r}: {exc.args[0]}") from None
    alerting = open_alerting(config) if alerts else None
    with open_store(config) as store:
        hooks = alert_hooks(alerting, config, store, selected)
        progress = CrawlProgress(err, enabled=sys.stderr.isatty())
        with progress:
            summary = run_crawl(config, outlets, store=store, plan_alerts_for=hooks,
                                on_progress=progress.update,
                                log_level="INFO" if verbose else "WARNING")
        out.print(summary_table(summary))
        if deliver:
            report = deliver_alerts(alerting, store)
            if report is not None:
                out.print(f"alerts: {report}")
    return summary


def summary_table(summary: Any) -> Table:
    seconds = (summary.ended_at - summary.started_at).total_seconds()
    table = Table(title=f"crawl #{summary.run_id} ({seconds:.1f} s)")
    for column in ("outlet", "fetched", "304", "new", "changed", "unchanged", "duplicate",
                   "rendered", "skipped", "errors"):
        table.add_column(column, justify="left" if column == "outlet" else "right")
    for s in summary.outlets:
        table.add_row(s.outlet, str(s.fetched), str(s.not_modified), str(s.new), str(s.changed),
                      str(s.unchanged), str(s.duplicate), str(s.rendered), str(s.skipped),
                      str(s.errors))
    reasons = [f"{s.outlet}: {reason} x{n}" for s in summary.outlets
               for reason, n in s.skip_reasons.items()]
    samples = [f"{s.outlet}: {e}" for s in summary.outlets for e in s.error_samples[:3]]
    caption = []
    if reasons:
        caption.append("skipped: " + "; ".join(reasons))
    if samples:
        caption.append("errors: " + "; ".join(samples))
    table.caption = "\n".join(caption) or None
    return table


@app.command(cls=Command)
def crawl(
    config: ConfigOption = None,
    outlet: Annotated[list[str] | None, typer.Option(
        "--outlet", "-o", metavar="NAME", help="Only this outlet (repeat for more); default: all.")] = None,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Store only; match and alert nothing.")] = False,
    no_deliver: Annotated[bool, typer.Option(
        "--no-deliver", help="Record alerts in the ledger but leave sending to the daemon.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every page.")] = False,
) -> None:
    """Crawl the configured outlets once, match watches, send alerts, print a summary."""
    setup_logging(verbose)
    cfg = open_config(config)
    if not cfg.outlets:
        raise fail(f"{cfg.path}: outlets: no outlet configured")
    crawl_and_report(cfg, outlet, verbose=verbose, alerts=not no_alerts, deliver=not no_deliver)


# --------------------------------------------------------------------------- stories


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@app.command(cls=Command)
def stories(
    config: ConfigOption = None,
    outlet: Annotated[str | None, typer.Option(
        "--outlet", "-o", metavar="NAME", help="Only stories this outlet carries.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="Only stories first seen or changed at or after this ISO date/time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """List stored stories."""
    cfg = open_config(config)
    since_dt = None
    if since:
        try:
            since_dt = datetime.fromisoformat(since)
        except ValueError:
            raise fail(f"--since: not an ISO date/time: {since!r}") from None
        if since_dt.tzinfo is None:
            from datetime import UTC

            since_dt = since_dt.replace(tzinfo=UTC)
    with open_store(cfg) as store:
        if outlet is not None:
            known_outlet(cfg, store, outlet)
        rows = store.list_stories(outlet=outlet, since=since_dt)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps({k: _iso(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
        return
    out.print(stories_table(rows))


def known_outlet(config: Config, store: Any, name: str) -> None:
    """An outlet the config names, or one whose stories the database holds; else an error
    as for ``crawl --outlet``."""
    try:
        config.outlet(name)
    except ConfigError as exc:
        if name not in store.outlet_names():
            raise fail(str(exc)) from None


def stories_table(rows: list[dict[str, Any]], text_chars: int = 60) -> Table:
    table = Table(title=f"{len(rows)} stories")
    for column in ("id", "outlet", "title", "urls", "revs", "chars", "text"):
        table.add_column(column, overflow="fold")
    for row in rows:
        text = row.get("text") or ""
        table.add_row(str(row["id"]), row.get("outlet") or "", row.get("title") or "",
                      str(len(row.get("urls") or [])), str(row.get("revisions")), str(len(text)),
                      text[:text_chars].replace("\n", " ") + ("…" if len(text) > text_chars else ""))
    return table


# --------------------------------------------------------------------------- demo


DEMO_PORT = 48765


@app.command(cls=Command)
def demo(
    database: Annotated[str, typer.Option(
        metavar="URL", help="Where to store the demo crawl (a relative SQLite path is in the current folder).")
    ] = "sqlite:///newswatch-demo.db",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every page.")] = False,
) -> None:
    """Serve a bundled sample AI-news outlet on 127.0.0.1, crawl it, and show what was stored."""
    from newswatch.demo.server import demo_config, serve_demo

    setup_logging(verbose)
    try:  # a fixed port keeps the URLs stable, so a second demo run shows conditional requests
        server = serve_demo(port=DEMO_PORT)
    except OSError:
        server = serve_demo()
    with server:
        raw = demo_config(server.url)
        raw["database"] = database
        cfg = parse_config(raw, source="demo")
        out.print(f"Serving the demo outlet at {server.url} ; storing into {cfg.database}")
        crawl_and_report(cfg, None, verbose=verbose, alerts=False)
    with open_store(cfg) as store:
        rows = store.list_stories()
    out.print(stories_table(rows))
    out.print("Run [bold]newswatch demo[/] again: unchanged pages answer 304 and nothing new is stored.")


# --------------------------------------------------------------------------- changes & alerts


@app.command(cls=Command)
def diff(
    story_id: Annotated[int, typer.Argument(metavar="ID", help="Story id (see `newswatch stories`).")],
    config: ConfigOption = None,
) -> None:
    """Print the change between a story's last two revisions (sentence by sentence)."""
    from newswatch.matching.diff import sentence_diff

    with open_store(open_config(config)) as store:
        revisions = store.story_revisions(story_id)
    if not revisions:
        raise fail(f"story {story_id}: no such story", code=1)
    if len(revisions) < 2:
        out.print(f"story {story_id} has one revision: nothing changed since first seen")
        return
    old, new = revisions[-2], revisions[-1]
    out.print(f"story {story_id}: revision {old['id']} ({_iso(old['first_seen'])}) -> "
              f"{new['id']} ({_iso(new['first_seen'])})", highlight=False)
    for line in sentence_diff(old["text"], new["text"]).splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        out.print(line, style=style, highlight=False, markup=False)


@app.command(cls=Command)
def alerts(
    config: ConfigOption = None,
    status: Annotated[str | None, typer.Option(
        metavar="STATUS", help="Only alerts with this status: pending, sent or failed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Deliver pending alerts that are due first.")] = False,
) -> None:
    """List the alert ledger: pending, sent, and failed alerts with their last error."""
    from newswatch.cli.alerting import deliver as deliver_alerts
    from newswatch.storage.models import ALERT_STATUSES

    if status is not None and status not in ALERT_STATUSES:
        raise fail(f"--status {status}: no such status (use {', '.join(ALERT_STATUSES)})")
    cfg = open_config(config)
    with open_store(cfg) as store:
        if send:
            report = deliver_alerts(open_alerting(cfg), store)
            if report is not None:
                err.print(f"alerts: {report}")
        rows = store.list_alerts(status=status)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps({k: _iso(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(rows)} alerts")
    for column in ("id", "status", "event", "watch", "channel", "story", "title", "attempts",
                   "sent / next try", "last error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        when = r["sent_at"] if r["status"] == "sent" else r["next_attempt_at"]
        table.add_row(str(r["id"]), r["status"], r["event"], r["watch"], r["channel"],
                      str(r["story_id"]), r["title"] or "", str(r["attempts"]),
                      _iso(when) or "", r["last_error"] or "")
    out.print(table)


@app.command(cls=Command)
def daemon(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run every outlet once, deliver, and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every page.")] = False,
) -> None:
    """Run forever: crawl each outlet on its interval (a child process per crawl), send alerts."""
    from newswatch.scheduler.daemon import run_daemon

    setup_logging(verbose)
    cfg = open_config(config)  # a bad watch or channel stops the daemon before it starts
    open_store(cfg).close()
    raise typer.Exit(run_daemon(str(cfg.path), once=once))


# --------------------------------------------------------------------------- db


@db_app.command("upgrade", cls=Command)
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the schema migrations to the configured database ($NEWSWATCH_DATABASE_URL, when
    set and no --config is given, needs no config file)."""
    from newswatch.config import database_from_env
    from newswatch.storage.db import upgrade
    from newswatch.storage.errors import DatabaseError

    database = database_from_env() if config is None else None
    if database is None:
        database = open_config(config).database
    try:
        upgrade(database)
    except DatabaseError as exc:
        raise fail(str(exc), code=1) from None
    out.print("database schema is up to date")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
