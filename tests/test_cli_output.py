"""What the ``newswatch`` command shows a person: help, version, and its tables and progress
read at 80 columns in a real terminal (a pseudo-terminal sized 80x24, COLUMNS unset)."""

from __future__ import annotations

import random
import re

import typer.main

from newswatch import __version__
from newswatch.cli.main import app
from tests.localsite import Page
from tests.pages import article_html, listing_html
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


CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
         "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点")


def distinct_paragraphs(seed: int) -> list[str]:
    """Four paragraphs of text no other seed shares (so each page is its own story)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(CHARS) for _ in range(70)) + "。" for _ in range(4)]


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
    config: dict = {"outlets": outlets, "politeness": {"obey_robots": False}}
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
    for name in LONG_NAMES:  # the rerun: 304s, nothing new; named so, live and in the summary
        named = [line for line in second.lines
                 if line.startswith(name) and "fetched 4, 304 3, new 0, unchanged 3" in line]
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
