"""The secrets of this process and their mask: every expanded ``${VAR}`` value of the config
(and the channel tokens ``alerts`` registers) is remembered here, and ``redact`` masks them.

A kernel module because every room that prints or stores text needs it: the config loader
registers, the crawler masks its error lines and the figures it stores, the command line masks
its log and output, alerts mask what they log and record (``alerts/secrets.py`` adds the
channel-specific parts: ``${VAR}`` expansion, URL tokens, one-line errors).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["MASK", "MIN_SECRET_LEN", "RedactingFilter", "could_reveal", "redact", "redact_data",
           "register_secret"]

MASK = "***"
MIN_SECRET_LEN = 4  # shorter strings are not registered globally (they would mangle any text)

# scheme://user:password@host  ->  scheme://user:***@host
_USERINFO = re.compile(r"(?P<pre>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?=@)")

# what every _USERINFO match holds, found faster (a literal first): a text without it has none
_USERINFO_HINT = re.compile(r"://[^/\s:@]*:[^@\s/]+@")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_escapable = False  # a secret holds a character JSON escapes (" \\ or a control character)
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def register_secret(*values: str | None) -> None:
    """Remember strings that ``redact`` must mask from now on (also their %-encoded forms)."""
    global _pattern, _escapable
    added = False
    with _lock:
        for v in values:
            if not v or len(v) < MIN_SECRET_LEN:
                continue
            for form in {v, unquote(v), quote(v, safe=""), quote(v)}:
                if len(form) >= MIN_SECRET_LEN and form not in _secrets:
                    _secrets.add(form)
                    added = True
        if added:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))
            _escapable = any(_JSON_ESCAPED.search(s) for s in _secrets)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """Mask registered secrets, ``extra`` strings and URL passwords (``user:***@``) in ``text``."""
    if not text:
        return text
    if _USERINFO_HINT.search(text):  # no password-like "://user:pw@": skipped fast
        text = _USERINFO.sub(lambda m: m.group("pre") + MASK, text)
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for s in extra:
        if s:
            text = text.replace(s, MASK)
    return text


def could_reveal(written: str) -> bool:
    """Whether ``redact_data`` could change any string that ``written`` was written from, where
    ``written`` is those strings as they stand in JSON (escaped) or in plain text. False lets a
    caller send what it wrote without walking the data: no registered secret and no URL
    password is in it. (A secret JSON would escape is never looked for: always True then.)"""
    if _escapable:
        return True
    if _USERINFO_HINT.search(written):
        return True
    pattern = _pattern
    return pattern is not None and pattern.search(written) is not None


def redact_data(value: Any) -> Any:
    """``value`` with every string in it (dict keys and values, list items) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message of every record passing through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is still logged as-is
            return True
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True
