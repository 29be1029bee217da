"""The ``newswatch`` command line (typer + rich): crawl, stories, demo, db upgrade, and more.

Commands only parse arguments, call into the packages and print; errors that stop a command
are one line on stderr with exit code 2 (bad config) or 1 (cannot run, e.g. database down);
a crawl stopped by Ctrl-C or SIGTERM is one line and exit code 130.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from newswatch import __version__, clock
from newswatch.cli.helptext import Command, Group
from newswatch.cli.logs import Verbosity, setup_logging, verbosity
from newswatch.cli.tables import alerts_view, stories_view, summary_view, watch_matches_view
from newswatch.config import Config, ConfigError, load_config, parse_config
from newswatch.secrets import redact

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=Group,
                  help="newswatch: scrape AI news outlets, store each story once, watch for changes.")
db_app = typer.Typer(no_args_is_help=True, cls=Group, help="Database schema commands.")
app.add_typer(db_app, name="db")
watch_app = typer.Typer(no_args_is_help=True, cls=Group, help="Run a watch over the stories already stored.")
app.add_typer(watch_app, name="watch")


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

HostOption = Annotated[str | None, typer.Option(
    "--host", metavar="HOST", help="Address to listen on (default serve.host, 127.0.0.1); not loopback needs serve.token.")]
PortOption = Annotated[int | None, typer.Option("--port", metavar="PORT", help="Port (default serve.port, 8000).")]


VerboseOption = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Log every page (fetched, 304, new, changed, unchanged, duplicate, "
    "skipped and why) and the tracebacks of errors.")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Only warnings and errors: no progress.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {redact(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def open_config(path: Path | None) -> Config:
    from newswatch import clock

    try:
        clock.check_env()  # $NEWSWATCH_NOW, when set, must be a time
    except ValueError as exc:
        raise fail(str(exc)) from None
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


# --------------------------------------------------------------------------- crawl


def open_alerting(config: Config) -> Any:
    from newswatch.alerts.sender import budget_from_env
    from newswatch.cli.alerting import build_alerting

    try:
        budget_from_env()  # a bad $NEWSWATCH_DELIVERY_BUDGET: one line, before any work
    except ValueError as exc:
        raise fail(str(exc)) from None
    return build_alerting(config)


def crawl_and_report(config: Config, outlets: list[str] | None, *, level: Verbosity,
                     alerts: bool = True, deliver: bool = True,
                     extra_settings: dict[str, Any] | None = None, full: bool = False) -> Any:
    from newswatch.cli.alerting import alert_hooks
    from newswatch.cli.alerting import deliver as deliver_alerts
    from newswatch.cli.progress import CrawlProgress
    from newswatch.crawler.grouping import GroupingStep
    from newswatch.crawler.run import run_crawl
    from newswatch.spiders import spider_class
    from newswatch.storage.errors import DatabaseError

    try:
        clock.now()  # a bad $NEWSWATCH_NOW is an error before anything is fetched
        selected = config.select(outlets)
        for outlet in selected:
            spider_class(outlet.spider)
        GroupingStep.from_config(config).check()  # events.encoder's package is installed
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    except KeyError as exc:
        raise fail(f"{config.path or 'config'}: outlet {outlet.name!r}: {exc.args[0]}") from None
    alerting = open_alerting(config) if alerts else None
    with open_store(config) as store:
        hooks = alert_hooks(alerting, config, store, selected)
        mode = "off" if level == "quiet" else "live" if sys.stderr.isatty() else "lines"
        refused = None
        with CrawlProgress(err, mode) as progress:
            try:
                summary = run_crawl(config, outlets, store=store, plan_alerts_for=hooks,
                                    on_progress=progress.update,
                                    log_level="INFO" if level == "verbose" else "WARNING",
                                    extra_settings=extra_settings, full=full)
            except DatabaseError as exc:  # read-only, disk full: what was stored is kept
                refused = str(exc)
        if refused is not None:
            if deliver:
                deliver_if_possible(alerting, store)
            raise fail(refused, code=1)
        if summary.interrupted:  # stopped by SIGTERM/SIGINT: nothing more is sent, the next run does
            raise interrupted()
        out.print(summary_view(summary))
        if deliver:
            report = deliver_alerts(alerting, store)
            if report is not None:
                out.print(f"alerts: {report}")
    return summary


def deliver_if_possible(alerting: Any, store: Any) -> None:
    """After a crawl the database stopped: send the alerts of what was stored, if the database
    still lets the sender record them; else they stay pending for the next run (the crawl's
    error line says why)."""
    from newswatch.cli.alerting import deliver as deliver_alerts

    with contextlib.suppress(Exception):
        report = deliver_alerts(alerting, store)
        if report is not None:
            out.print(f"alerts: {report}")


def interrupted() -> typer.Exit:
    """Ctrl-C or SIGTERM stopped a crawl: one line, exit 130."""
    return fail("interrupted: the crawl stopped early (Ctrl-C or SIGTERM); what it stored is "
                "kept, the rest is crawled next time", code=130)


@app.command(cls=Command)
def crawl(
    config: ConfigOption = None,
    outlet: Annotated[list[str] | None, typer.Option(
        "--outlet", "-o", metavar="NAME", help="Only this outlet (repeat for more); default: all.")] = None,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Store only; match and alert nothing.")] = False,
    no_deliver: Annotated[bool, typer.Option(
        "--no-deliver", help="Record alerts in the ledger but leave sending to the daemon.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Recheck every stored article this run, due or not (see revisit).")] = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Crawl the configured outlets once, match watches, send alerts, print a summary."""
    level = verbosity(verbose, quiet)
    setup_logging(level, err)
    cfg = open_config(config)
    if not cfg.outlets:
        raise fail(f"{cfg.path}: outlets: no outlet configured")
    try:
        crawl_and_report(cfg, outlet, level=level, alerts=not no_alerts, deliver=not no_deliver,
                         full=full)
    except KeyboardInterrupt:  # before Scrapy's own handler is installed, or after it is gone
        raise interrupted() from None


# --------------------------------------------------------------------------- stories


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def write_json_lines(rows: list[dict[str, Any]]) -> None:
    """``--json``: one object a line, masked (a story URL may carry an outlet's ``${VAR}``
    value, e.g. the links of a keyed feed)."""
    for row in rows:
        line = json.dumps({k: _iso(v) for k, v in row.items()}, ensure_ascii=False)
        sys.stdout.write(redact(line) + "\n")


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
        write_json_lines(rows)
        return
    out.print(stories_view(rows))


def known_outlet(config: Config, store: Any, name: str) -> None:
    """An outlet the config names, or one whose stories the database holds; else an error
    as for ``crawl --outlet``."""
    try:
        config.outlet(name)
    except ConfigError as exc:
        if name not in store.outlet_names():
            raise fail(str(exc)) from None


# --------------------------------------------------------------------------- demo


@app.command(cls=Command)
def demo(
    database: Annotated[str, typer.Option(
        metavar="URL", help="Where to store the demo crawl (a relative SQLite path is in the current folder).")
    ] = "sqlite:///newswatch-demo.db",
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Serve a bundled sample AI-news outlet on 127.0.0.1, crawl it, and show what was stored."""
    from newswatch.crawler.settings import scrapy_settings
    from newswatch.demo.route import DEMO_URL, demo_settings
    from newswatch.demo.server import demo_config, serve_demo
    from newswatch.storage.db import mask_url

    level = verbosity(verbose, quiet)
    setup_logging(level, err)
    # any free port: the pages call themselves DEMO_URL and the crawl reaches them through the
    # server, so URLs and stories are the same on every run (a rerun answers 304)
    with serve_demo(public_url=DEMO_URL) as server:
        raw = demo_config(server.public_url)
        raw["database"] = database
        cfg = parse_config(raw, source="demo")
        out.print(f"Serving the demo outlet {server.public_url} (on {server.url})\n"
                  f"storing into {mask_url(cfg.database)}", highlight=False, markup=False,
                  soft_wrap=True)
        config_path = write_demo_config(raw)
        settings = demo_settings(server.url, scrapy_settings(cfg)["DOWNLOADER_MIDDLEWARES"])
        with open_store(cfg) as store:
            first_run = not store.list_stories()
        if first_run:  # the site as first seen, crawled in a child (one Twisted reactor per process) ...
            sys.stdout.flush()
            child = multiprocessing.get_context("spawn").Process(
                target=_demo_crawl, args=(raw, settings, level, os.getpid()),
                name="newswatch-demo-crawl")
            child.start()
            child.join()
            if child.exitcode != 0:
                raise fail(f"demo: the first crawl failed (exit {child.exitcode})", code=1)
            out.print("Two days later the outlet has edited a story and published a new one:")
        server.set_version(2)  # ... and two days later: one story edited, one new
        crawl_and_report(cfg, None, level=level, extra_settings=settings)
    with open_store(cfg) as store:
        rows = store.list_stories()
    out.print(stories_view(rows))
    out.print("Run [bold]newswatch demo[/] again: unchanged pages answer 304 and nothing new is stored.")
    out.print(f"See it in your browser: [bold]newswatch serve --config {config_path}[/] "
              "then open http://127.0.0.1:8000/", highlight=False, soft_wrap=True)


def _demo_crawl(raw: dict[str, Any], settings: dict[str, Any], level: Verbosity,
                parent: int) -> None:
    """The demo's first crawl, in a child process of its own (started by ``demo``), which ends
    with the demo however the demo ends."""
    from newswatch.lifetime import die_with_parent

    die_with_parent(parent)
    setup_logging(level, err)
    crawl_and_report(parse_config(raw, source="demo"), None, level=level, extra_settings=settings)


def write_demo_config(raw: dict[str, Any]) -> Path:
    """The demo's config as a file, next to its SQLite database (else in the current folder),
    so that ``newswatch serve --config`` can open the demo's data."""
    import yaml
    from sqlalchemy.engine import make_url

    url = make_url(raw["database"])
    folder = Path.cwd()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db_file = Path(url.database).expanduser().resolve()
        raw = {**raw, "database": str(url.set(database=str(db_file)).render_as_string(
            hide_password=False))}
        folder = db_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "newswatch-demo.yaml"
    header = ("# Written by `newswatch demo`: the demo outlet's config and database.\n"
              "# newswatch serve --config " + str(path) + "\n")
    path.write_text(header + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


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
            if report is not None and report.stopped:  # SIGTERM/SIGINT: stop, list nothing
                return
        rows = store.list_alerts(status=status)
    if as_json:
        write_json_lines(rows)
        return
    out.print(alerts_view(rows))


@app.command(cls=Command)
def daemon(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run every outlet once, deliver, and exit.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also log every page of every crawl.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Only warnings and errors (no crawl start/end lines).")] = False,
    serve_too: Annotated[bool, typer.Option(
        "--serve", help="Serve the dashboard from the daemon too (serve: in the config).")] = False,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run forever: crawl each outlet on its interval (a child process per crawl), send alerts.
    Logs one line per crawl start and end (outlet, counts, duration) and per delivery batch."""
    from newswatch.scheduler.daemon import DaemonOptions, run_daemon

    level = verbosity(verbose, quiet)
    setup_logging(level, err, info_from=("newswatch.scheduler",))
    cfg = open_config(config)  # a bad watch or channel stops the daemon before it starts
    bind = dashboard_address(cfg, host, port) if serve_too else None
    open_store(cfg).close()
    crawl_flags = ("--verbose",) if level == "verbose" else ("--quiet",)
    raise typer.Exit(run_daemon(str(cfg.path), once=once, serve=bind,
                                options=DaemonOptions(crawl_flags=crawl_flags)))


@app.command(cls=Command)
def worker(
    config: ConfigOption = None,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Crawl from the shared Redis frontier (redis: in the config) until stopped: the runs
    `newswatch daemon` queues, into the shared database. Start as many as you like."""
    from newswatch.cli.alerting import run_hook_factory
    from newswatch.crawler.frontier import connect
    from newswatch.crawler.worker import run_worker
    from newswatch.storage.db import mask_url

    level = verbosity(verbose, quiet)
    setup_logging(level, err)
    cfg = open_config(config)
    if not cfg.redis:
        raise fail(f"{cfg.path}: redis: not set (the worker takes its requests from Redis; "
                   "e.g. redis: redis://127.0.0.1:6379/0 or $NEWSWATCH_REDIS_URL)")
    if not cfg.outlets:
        raise fail(f"{cfg.path}: outlets: no outlet configured")
    try:
        connect(cfg.redis).ping()
    except Exception as exc:  # noqa: BLE001 - any redis-py error: one line
        raise fail(f"redis {mask_url(cfg.redis)}: {exc}", code=1) from None
    if level != "quiet":
        err.print(f"worker: {len(cfg.outlets)} outlet(s), frontier {mask_url(cfg.redis)} "
                  f"(prefix {cfg.frontier.key_prefix}), database {mask_url(cfg.database)}",
                  highlight=False, soft_wrap=True)
    with open_store(cfg) as store:
        run_worker(cfg, cfg.redis, store=store, hook_for_run=run_hook_factory(open_alerting(cfg)),
                   log_level="INFO" if level == "verbose" else "WARNING")


# --------------------------------------------------------------------------- dashboard


def dashboard_address(cfg: Config, host: str | None, port: int | None) -> tuple[str, int]:
    """(host, port) to serve on: the options, else the config's serve: section; refuses a
    host beyond loopback without serve.token."""
    from newswatch.web.server import ServeError, check_bind

    bind = (host or cfg.serve.host, cfg.serve.port if port is None else port)
    try:
        check_bind(cfg, bind[0])
    except ServeError as exc:
        raise fail(str(exc)) from None
    return bind


@app.command(cls=Command)
def serve(config: ConfigOption = None, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the dashboard: stories, diffs, outlets, watches, alerts, JSON API and Atom feeds."""
    from newswatch.web.server import serve_forever

    setup_logging("normal", err)
    cfg = open_config(config)
    bind = dashboard_address(cfg, host, port)
    store = open_store(cfg)
    shown = f"[{bind[0]}]" if ":" in bind[0] else bind[0]
    out.print(f"newswatch dashboard on http://{shown}:{bind[1]}/ (database {_masked(cfg.database)}; "
              "Ctrl-C stops it)", highlight=False, soft_wrap=True)
    try:
        serve_forever(cfg, *bind, store=store)
    finally:
        store.close()


def _masked(url: str) -> str:
    from newswatch.storage.db import mask_url

    return mask_url(url)


# --------------------------------------------------------------------------- watch test / backfill


def _since_option(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        raise fail(f"--since: not an ISO date/time: {since!r}") from None
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when


WatchName = Annotated[str, typer.Argument(metavar="NAME", help="The watch's name (watches: in the config).")]
SinceOption = Annotated[str | None, typer.Option("--since", metavar="ISO", help="ISO date/time: stories changed at or after.")]


@watch_app.command("test", cls=Command)
def watch_test(name: WatchName, config: ConfigOption = None, since: SinceOption = None) -> None:
    """List the stored stories the watch matches today (nothing is recorded)."""
    from newswatch.cli.backfill import matches_today, watch_named

    cfg = open_config(config)
    try:
        rule = watch_named(cfg, name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    with open_store(cfg) as store:
        found = list(matches_today(store, rule, _since_option(since)))
    out.print(watch_matches_view(name, found))


@watch_app.command("backfill", cls=Command)
def watch_backfill(
    name: WatchName,
    config: ConfigOption = None,
    since: SinceOption = None,
    alert: Annotated[bool, typer.Option("--alert", help="Also alert the matches on the watch's channels.")] = False,
) -> None:
    """Record the watch's matches over stored stories (alerts only with --alert)."""
    from newswatch.cli.alerting import deliver
    from newswatch.cli.backfill import backfill, watch_named

    cfg = open_config(config)
    try:
        rule = watch_named(cfg, name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    with open_store(cfg) as store:
        report = backfill(store, cfg, rule, _since_option(since), alert=alert)
        out.print(f"watch {name}: {report.matched} stor{'y' if report.matched == 1 else 'ies'} "
                  f"matched and recorded; {report.alerts} alert(s) queued")
        if report.alerts:
            sent = deliver(open_alerting(cfg), store)
            if sent is not None:
                out.print(f"alerts: {sent}")


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
