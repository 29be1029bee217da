"""What the ``newswatch`` command shows a person: help, version, and its tables and progress
read at 80 columns in a real terminal (a pseudo-terminal sized 80x24, COLUMNS unset)."""

from __future__ import annotations

import re

import typer.main

from newswatch import __version__
from newswatch.cli.main import app
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
