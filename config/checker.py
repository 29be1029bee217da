"""Checking config values: one-line errors naming the key and its YAML line, and the one
duration parser (``90s``, ``15m``, ``2h``, ``1d``) of the whole application."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

from newswatch.revisit import RevisitPolicy

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TIME = re.compile(r"^\s*(\d{1,2}):([0-5]\d)\s*$")
_PARENT = re.compile(r"(?:\.[^.\[]*|\[\d+\])$")


class ConfigError(ValueError):
    """A config problem, as one line naming the key (and line)."""


def parse_duration(value: Any, name: str) -> float:
    """Seconds from ``90`` / ``"90"`` / ``"90s"`` / ``"15m"`` / ``"2h"`` / ``"1d"`` (decimals
    allowed); ValueError naming ``name`` when it is not a positive duration."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ValueError(f"{name}: bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
    return seconds


class Checker:
    """Checks values of one config source; ``lines`` maps key paths (``outlets[0].name``) to
    their YAML line. Each method returns the checked value or raises ConfigError."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source = source
        self.lines = lines

    def line_of(self, key: str) -> int | None:
        """The key's line, else the nearest enclosing key's."""
        while key:
            if key in self.lines:
                return self.lines[key]
            parent = _PARENT.sub("", key)
            key = parent if parent != key else ""  # a top-level key has no parent
        return None

    def error(self, key: str, message: str) -> ConfigError:
        line = self.line_of(key)
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {key}: {message}" if key else f"{where}: {message}")

    def owner_error(self, exc: ValueError) -> ConfigError:
        """An error raised by the owner of a part of the config (``watches[2].regex[0]: bad
        regex ...``), with the YAML line of the key it names."""
        key, _, problem = str(exc).partition(": ")
        return self.error(key, problem) if problem else self.error("", key)

    # ---------------------------------------------------------------- structure

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if name not in allowed:
                sub = f"{key}.{name}" if key else str(name)
                hint = ", ".join(sorted(allowed))
                raise self.error(sub, f"unknown key (allowed: {hint})")
        return value

    def section(self, value: Any, key: str, cls: type) -> Any:
        """A dataclass section: each field checked by its metadata, else by its default's type."""
        fields = {f.metadata.get("yaml") or f.name: f for f in dataclasses.fields(cls) if f.init}
        data = self.mapping(value, key, set(fields))
        values: dict[str, Any] = {}
        for name, f in fields.items():
            sub = f"{key}.{name}"
            if name in data:
                values[f.name] = self.field(data[name], sub, f)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.error(key, f"missing key {name!r}")
        return cls(**values)

    def field(self, value: Any, key: str, f: dataclasses.Field[Any]) -> Any:
        kind = f.metadata.get("check")
        if kind:
            return getattr(self, kind)(value, key, **f.metadata.get("options", {}))
        default = f.default
        if isinstance(default, bool):
            return self.boolean(value, key)
        if isinstance(default, int | float):
            return self.number(value, key, type(default))
        return self.string(value, key)

    # ---------------------------------------------------------------- kinds of values

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "expected a non-empty string")
        return value

    def optional(self, value: Any, key: str) -> str | None:
        """A string, or None when left empty."""
        return self.string(value, key) if value else None

    def secret(self, value: Any, key: str, min_length: int = 16) -> str | None:
        """A secret string (best written ``${VAR}``), or None when left empty; errors never
        show its value."""
        if not value:
            return None
        if not isinstance(value, str):
            raise self.error(key, "expected a string, e.g. ${NEWSWATCH_SERVE_TOKEN}")
        if len(value.strip()) < min_length:
            raise self.error(key, f"too short: use at least {min_length} characters "
                                  "(e.g. the output of `openssl rand -hex 24`)")
        return value

    def name(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not _NAME.match(text):
            raise self.error(key, f"bad name {text!r} (letters, digits, _ . -)")
        return text

    def url(self, value: Any, key: str) -> str:
        text = self.string(value, key).strip()
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(key, f"bad URL {text!r} (need http:// or https:// and a host)")
        return text

    def urls(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(key, "expected a list of URLs")
        return tuple(self.url(v, f"{key}[{i}]") for i, v in enumerate(value))

    def hosts(self, value: Any, key: str) -> tuple[str, ...]:
        value = value or []
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            raise self.error(key, "expected a list of host names")
        return tuple(value)

    def regex(self, value: Any, key: str) -> str:
        pattern = self.string(value, key)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.error(key, f"bad regex {pattern!r}: {exc}") from None
        return pattern

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.error(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def number(self, value: Any, key: str, kind: type = float, minimum: float = 0) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return kind(value)

    def integer(self, value: Any, key: str, minimum: int = 0) -> int:
        """A whole number (``1000``, not ``1e3`` or ``12.5``) of at least ``minimum``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {value!r}")
        return int(self.number(value, key, int, minimum))

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def time_of_day(self, value: Any, key: str) -> str:
        """``"HH:MM"`` (24 h), returned as written with two-digit hours."""
        if isinstance(value, int) and not isinstance(value, bool):
            raise self.error(key, f"write the time quoted, e.g. \"18:30\" (unquoted, YAML reads "
                                  f"it as the number {value})")
        match = _TIME.match(value) if isinstance(value, str) else None
        if not match or int(match.group(1)) > 23:
            raise self.error(key, f"expected a time of day like \"08:00\" (HH:MM, 24 h), got "
                                  f"{value!r}")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    def timezone(self, value: Any, key: str) -> str:
        """An IANA time zone name (``Asia/Shanghai``, ``Europe/Berlin``, ``UTC``)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        name = self.string(value, key).strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise self.error(key, f"unknown time zone {name!r} (use an IANA name such as "
                                  "Asia/Shanghai, Europe/Berlin or UTC)") from None
        return name

    def duration(self, value: Any, key: str) -> int:
        """Whole seconds from a duration (see :func:`parse_duration`)."""
        try:
            return max(1, round(parse_duration(value, key)))
        except ValueError as exc:
            raise self.owner_error(exc) from None

    def revisit(self, value: Any, key: str) -> RevisitPolicy:
        """``always``, or a mapping of durations ``{min: 1h, max: 7d, stop_after: 30d}``
        (each optional; see ``newswatch/revisit.py``)."""
        if value == "always":
            return RevisitPolicy(always=True)
        if not isinstance(value, dict):
            raise self.error(key, f"expected always or a mapping of min, max, stop_after, "
                                  f"got {value!r}")
        data = self.mapping(value, key, {"min", "max", "stop_after"})
        policy = RevisitPolicy(**{name: self.duration(v, f"{key}.{name}")
                                  for name, v in data.items()})
        if policy.min > policy.max:
            raise self.error(key, f"min ({policy.min} s) is longer than max ({policy.max} s)")
        return policy
