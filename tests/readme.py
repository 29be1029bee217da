"""The README read as a user reads it: its fenced code blocks by the section they sit in."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def section(title: str) -> str:
    """The text of the README section headed ``## title`` (up to the next ``## ``)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def code_blocks(title: str, language: str | None = None) -> list[str]:
    """The fenced code blocks of a section, verbatim (``language``: only ```yaml etc.)."""
    return [body for lang, body in _FENCE.findall(section(title))
            if language is None or lang == language]


PLAUSIBLE = {"TELEGRAM_BOT_TOKEN": "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr",
             "TELEGRAM_CHAT_ID": "-1001234567890"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables(text: str) -> set[str]:
    """The ``${VAR}`` names a config text reads (in its values: comments are not read)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            found.update(_VAR.findall(value))

    walk(yaml.safe_load(text))
    return found


def plausible_env(text: str) -> dict[str, str]:
    """A value of the right shape for every ``${VAR}`` of a config text (Apprise checks the
    shape of a Telegram token)."""
    return {var: PLAUSIBLE.get(var, "plausible-secret-1") for var in variables(text)}
