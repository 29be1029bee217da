"""What the ``newswatch`` command shows a person: help, version, and its tables and progress
read at 80 columns in a real terminal (a pseudo-terminal sized 80x24, COLUMNS unset)."""

from __future__ import annotations

import io
import re
import socket

import typer.main

from newswatch import __version__
from newswatch.cli.main import app
from tests.localsite import Page
from tests.pages import article_html, distinct_paragraphs, listing_html
from tests.terminal import run_in_terminal

PLACEHOLDER = re.compile(r"<(bool|str|path|list\[[^\]]*\])>")


def every_command() -> list[list[str]]:
    """``[]`` (the app), ``["crawl"]``, ..., ``["db", "upgrade"]``."""
    found: list[list[str]] = []

    def walk(command, path):
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0 and result.stdout == f"newswatch {__version__}\n"


def test_every_option_has_help_and_no_type_placeholder():
    commands = every_command()
    assert ["crawl"] in commands and ["db", "upgrade"] in commands
    root = typer.main.get_command(app)
    for path in commands:
        command = root
        for name in path:
            command = command.commands[name]
        for param in command.params:
            assert param.help, f"newswatch {' '.join(path)} {param.opts}: no help text"
    for path in commands:
        screen = run_in_terminal(*path, "--help")
        assert screen.returncode == 0, screen.text
        assert not PLACEHOLDER.search(screen.text), (path, PLACEHOLDER.search(screen.text))
        assert not screen.too_wide(), screen.too_wide()


# ----------------------------------------------------------------------------- 80 columns

LONG_NAMES = ("mit-techreview-ai", "theverge-ai-and-robots")


def two_outlets(site, write_config, *, watch: bool = False):
    """Two outlets with long names on one local site, three articles each, slow enough that the
    live progress draws a few frames."""
    outlets = []
    for n, name in enumerate(LONG_NAMES):
        links = [f"/news/2026/{name}-{i}.html" for i in range(3)]
        site.set(f"/{name}/", listing_html(links))
        for i, link in enumerate(links):
            paragraphs = distinct_paragraphs(seed=n * 10 + i)
            site.set(link, Page(body=article_html(f"通义千问第{n}{i}号长标题：大模型应用落地的成本与可靠性",
                                                  paragraphs, meta_charset="utf-8").encode(),
                                delay=0.4))
        outlets.append({"name": name, "start_urls": [f"{site.url}/{name}/"],
                        "article_url": r"/news/\d{4}/", "render": "never",
                        "alert_on_first_crawl": True})
    # Random characters are noise to the sentence encoder (such pages all look alike to it, so
    # the two outlets' stories would be grouped as the same news); lexical evidence keeps them
    # six stories, six events.
    config: dict = {"outlets": outlets, "politeness": {"obey_robots": False},
                    "events": {"encoder": "lexical"}}
    if watch:
        config["watches"] = [{"name": "qwen-watch", "terms": ["通义千问"], "notify": ["team-hook"]}]
        config["notify"] = {"team-hook": {"webhook": "http://127.0.0.1:9/hook"}}  # refused
    return str(write_config(config))


def test_crawl_summary_and_progress_read_at_80_columns(site, write_config):
    config = two_outlets(site, write_config)
    first = run_in_terminal("crawl", "--config", config)
    assert first.returncode == 0, first.text
    assert not first.too_wide(), first.too_wide()
    lines = first.lines
    for name in LONG_NAMES:  # whole names, each with its counts named in words
        assert any(line.startswith(name) and "fetched 4, new 3" in line for line in lines), name
    assert not any("stored" in line for line in lines)
    frames = [line for line in lines if line.strip().startswith("crawling…")]
    assert frames, "no live progress was drawn"
    second = run_in_terminal("crawl", "--config", config)
    assert not second.too_wide(), second.too_wide()
    for name in LONG_NAMES:  # the rerun: the listing's 304, no article due, nothing new; named
        named = [line for line in second.lines  # so, live and in the summary
                 if line.startswith(name) and "fetched 1, 304 1, not due 3, new 0" in line]
        assert len(named) >= 2, second.text  # a live frame and the summary
    assert not any("stored" in line for line in second.lines)


def test_stories_and_alerts_read_at_80_columns(site, write_config):
    config = two_outlets(site, write_config, watch=True)
    assert run_in_terminal("crawl", "--config", config).returncode == 0
    stories = run_in_terminal("stories", "--config", config)
    assert stories.returncode == 0 and not stories.too_wide(), stories.too_wide()
    assert "6 stories" in stories.text
    for name in LONG_NAMES:
        assert sum(name in line for line in stories.lines) == 3, stories.text
    assert "…" not in stories.text.replace("crawling…", "")
    alerts = run_in_terminal("alerts", "--config", config)
    assert alerts.returncode == 0 and not alerts.too_wide(), alerts.too_wide()
    assert "6 alerts" in alerts.text
    assert alerts.text.count("for qwen-watch -> team-hook") == 6
    assert alerts.text.count("last error:") == 6  # the receiver refused: why, on each alert


# ----------------------------------------------------------------------------- piped progress


def test_piped_progress_is_a_line_every_few_seconds_per_outlet_and_one_when_done():
    """stderr not a terminal: a line when an outlet's counts moved (at most every ``every``
    seconds), one at least every ``heartbeat`` seconds, and one when the outlet is done."""
    from datetime import datetime, timedelta

    from rich.console import Console

    from newswatch.cli.progress import CrawlProgress

    buffer = io.StringIO()
    now = [0.0]
    progress = CrawlProgress(Console(file=buffer, width=80), "lines", every=5, heartbeat=30,
                             clock=lambda: now[0])

    def tick(at: float, **stats: dict) -> list[str]:
        now[0] = at
        before = len(buffer.getvalue().splitlines())
        progress.update(stats)
        return buffer.getvalue().splitlines()[before:]

    def counts(fetched: int, new: int = 0) -> dict:
        return {"downloader/response_count": fetched, "newswatch/new": new}

    with progress:
        assert tick(0.25, a=counts(1)) == []
        assert tick(5.0, a=counts(2, 1)) == ["crawling a (5 s): fetched 2, new 1"]
        assert tick(6.0, a=counts(3, 2)) == []  # moved, but 1 s after the last line
        assert tick(10.0, a=counts(3, 2)) == ["crawling a (10 s): fetched 3, new 2"]
        assert tick(20.0, a=counts(3, 2)) == []  # nothing moved
        assert tick(40.0, a=counts(3, 2)) == ["crawling a (40 s): fetched 3, new 2"]  # heartbeat
        start = datetime(2026, 9, 1, 8)
        done = {**counts(4, 2), "finish_reason": "finished", "start_time": start,
                "finish_time": start + timedelta(seconds=41.5)}
        assert tick(41.5, a=done) == ["crawled a in 41.5 s: fetched 4, new 2"]
        assert tick(50.0, a=done) == []


def test_a_piped_crawl_says_when_each_outlet_is_done(site, write_config, cli):
    config = two_outlets(site, write_config)
    result = cli("crawl", "--config", config)
    assert result.returncode == 0, result.stderr
    for name in LONG_NAMES:
        assert re.search(rf"^crawled {name} in \d+\.\d s: fetched 4, new 3$", result.stderr, re.M)
    assert "crawling…" not in result.stderr  # no live frames in a file
    quiet = cli("crawl", "--config", config, "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


# ----------------------------------------------------------------------------- log lines


def test_verbose_logs_every_page_with_its_outcome(site, write_config, cli):
    site.set("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    site.set("/ai/", listing_html(["/news/2026/a.html", "/news/2026/b.html",
                                   "/private/news/2026/c.html"]))
    for name, seed in (("a", 1), ("b", 2)):
        site.set(f"/news/2026/{name}.html",
                 article_html(f"标题{name}", distinct_paragraphs(seed), meta_charset="utf-8"))
    site.set("/news/2026/b.html", Page(body=article_html("标题b", distinct_paragraphs(2),
                                                         meta_charset="utf-8").encode(),
                                       validators=False))
    config = str(write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                            "article_url": r"/news/\d{4}/", "render": "never",
                                            "revisit": "always"}]}))  # every crawl
    quiet = cli("crawl", "--config", config)
    assert quiet.returncode == 0 and " INFO " not in quiet.stderr
    site.set("/news/2026/a.html", article_html("标题a", distinct_paragraphs(3), meta_charset="utf-8"))
    again = cli("crawl", "--config", config, "-v")
    assert again.returncode == 0, again.stderr
    log = again.stderr
    assert f"local: listing {site.url}/ai/: 3 article links" in log
    assert f"local: fetched {site.url}/news/2026/a.html: changed" in log
    assert f"local: fetched {site.url}/news/2026/b.html: unchanged" in log  # no validators: 200
    assert f"local: skipped {site.url}/private/news/2026/c.html: forbidden by robots.txt" in log
    third = cli("crawl", "--config", config, "-v")
    assert f"local: 304 {site.url}/news/2026/a.html: unchanged" in third.stderr
    new_page = listing_html(["/news/2026/a.html", "/news/2026/d.html"])
    site.set("/ai/", new_page)
    site.set("/news/2026/d.html", article_html("标题d", distinct_paragraphs(1), meta_charset="utf-8"))
    fourth = cli("crawl", "--config", config, "-v")
    assert f"local: fetched {site.url}/news/2026/d.html: duplicate" in fourth.stderr
    site.set("/news/2026/e.html", article_html("标题e", distinct_paragraphs(5), meta_charset="utf-8"))
    site.set("/ai/", listing_html(["/news/2026/e.html"]))
    assert f"local: fetched {site.url}/news/2026/e.html: new" in cli("crawl", "--config", config,
                                                                        "-v").stderr


def refusing_port() -> socket.socket:
    """A bound TCP socket that does not listen: connections to its port are refused, and no
    other process can take the port while the socket is open."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def test_a_crawl_with_no_network_is_one_line_per_host_and_the_summary(write_config, cli):
    with refusing_port() as closed:
        port = closed.getsockname()[1]
        config = str(write_config({
            "outlets": [
                {"name": "refused", "start_urls": [f"http://127.0.0.1:{port}/ai/"],
                 "feeds": [f"http://127.0.0.1:{port}/rss.xml"], "render": "never"},
                {"name": "nodns", "start_urls": ["http://news.example.invalid/ai/",
                                                 "http://news.example.invalid/tech/"],
                 "render": "never"}],
            "politeness": {"retries": 1}}))
        result = cli("crawl", "--config", config)
        verbose = cli("crawl", "--config", config, "-v")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("crawl")]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("crawl")]
    assert len(lines) == 2, result.stderr  # a warning per host (and the progress lines)
    assert sum(line.startswith("crawled ") for line in progress) == 2
    assert sum(f"refused: 127.0.0.1:{port}: connection refused (http://127.0.0.1:{port}/" in line
               for line in lines) == 1
    assert sum("nodns: news.example.invalid: DNS lookup failed (http://news.example.invalid/" in line
               for line in lines) == 1
    assert "Traceback" not in result.stderr
    summary = result.stdout
    assert f"errors: refused: 127.0.0.1:{port}: connection refused (2 URLs)" in summary
    assert "nodns: news.example.invalid: DNS lookup failed (2 URLs)" in summary
    assert verbose.returncode == 0 and "Traceback" in verbose.stderr  # -v: the whole story


def test_the_daemon_logs_crawls_and_deliveries_by_default(site, write_config, cli):
    """`docker compose logs` is not empty: a line per crawl start and end (outlet, counts,
    duration) and per delivery batch; -v adds every page, -q leaves warnings only."""
    from tests.receivers import WebhookReceiver

    site.set("/ai/", listing_html(["/news/2026/a.html", "/news/2026/b.html"]))
    for name, seed in (("a", 1), ("b", 2)):
        site.set(f"/news/2026/{name}.html",
                 article_html(f"通义千问{name}", distinct_paragraphs(seed), meta_charset="utf-8"))
    with WebhookReceiver() as hook:
        config = str(write_config({
            "outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                         "article_url": r"/news/\d{4}/", "render": "never",
                         "alert_on_first_crawl": True, "revisit": "always"}],
            "watches": [{"name": "qwen", "terms": ["通义千问"]}],
            "notify": {"hook": {"webhook": hook.url}}}))
        result = cli("daemon", "--once", "--config", config)
        assert result.returncode == 0, result.stderr
        assert len(hook.received) == 2
    log = result.stderr
    assert re.search(r" INFO newswatch\.scheduler: crawl local: start \(timeout \d+s\)$", log, re.M)
    assert re.search(r" INFO newswatch\.scheduler: crawl local: end after \d+\.\ds: ok: "
                     r"fetched 4, new 2$", log, re.M), log  # robots.txt, the listing, 2 articles
    assert re.search(r" INFO newswatch\.scheduler: alerts: 2 sent, 0 failed \(will retry\)$", log,
                     re.M), log
    assert len(log.splitlines()) == 3, log
    verbose = cli("daemon", "--once", "--config", config, "-v")
    assert f"local: 304 {site.url}/news/2026/a.html: unchanged" in verbose.stderr
    assert re.search(r"crawl local: end after \d+\.\ds: ok: fetched 4, 304 2, new 0, unchanged 2",
                     verbose.stderr), verbose.stderr
    quiet = cli("daemon", "--once", "--config", config, "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
