"""The newswatch config file: where it is found, what keys it has, and their validation.

One YAML file, found as ``--config PATH``, else ``$NEWSWATCH_CONFIG``, else ``./newswatch.yaml``.
Every error is a one-line :class:`ConfigError` naming the key (and the YAML line when known);
nothing is crawled from a config that does not validate.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_DATABASE = "sqlite:///newswatch.db"
DEFAULT_INTERVAL = "30m"
RENDER_MODES = ("auto", "never", "always")
DEFAULT_CHROMIUM = "/usr/bin/chromium"

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(ValueError):
    """A config problem, as one line naming the key (and line)."""


@dataclass(frozen=True)
class Outlet:
    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    article_url: str = ".*"
    render: str = "auto"
    interval_seconds: int = 1800
    wait_for: str | None = None
    spider: str | None = None
    alert_on_first_crawl: bool = False
    allowed_domains: tuple[str, ...] = ()

    @property
    def article_pattern(self) -> re.Pattern[str]:
        return re.compile(self.article_url)


@dataclass(frozen=True)
class Politeness:
    obey_robots: bool = True
    concurrency_per_domain: int = 16
    autothrottle: bool = True
    download_delay: float = 0.0
    timeout: float = 30.0
    retries: int = 3
    max_retry_after: float = 120.0
    max_page_bytes: int = 5 * 1024 * 1024
    user_agent: str | None = None


@dataclass(frozen=True)
class Browser:
    chromium: str = DEFAULT_CHROMIUM
    max_pages: int = 4
    restart_after: int = 200
    timeout: float = 20.0


@dataclass
class Config:
    database: str = DEFAULT_DATABASE
    outlets: list[Outlet] = field(default_factory=list)
    politeness: Politeness = field(default_factory=Politeness)
    browser: Browser = field(default_factory=Browser)
    watches: list[dict[str, Any]] = field(default_factory=list)
    notify: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def outlet(self, name: str) -> Outlet:
        for outlet in self.outlets:
            if outlet.name == name:
                return outlet
        known = ", ".join(o.name for o in self.outlets) or "none"
        raise ConfigError(f"--outlet {name}: no such outlet (configured: {known})")

    def select(self, names: list[str] | None) -> list[Outlet]:
        return [self.outlet(n) for n in names] if names else list(self.outlets)


# --------------------------------------------------------------------------- file -> dict


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, by dotted key path."""


def _load_with_lines(text: str, source: str) -> tuple[Any, dict[str, int]]:
    try:
        node = yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if node is None:
        return {}, {}
    lines: dict[str, int] = {}

    def walk(n: yaml.Node, path: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                sub = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[sub] = key_node.start_mark.line + 1
                walk(value_node, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                sub = f"{path}[{i}]"
                lines[sub] = item.start_mark.line + 1
                walk(item, sub)

    walk(node, "")
    data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    return data, lines


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("NEWSWATCH_CONFIG")
    if env:
        return Path(env)
    return Path("newswatch.yaml")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, expand ``${VAR}``, validate. Raises ConfigError (one line) on any problem."""
    cfg_path = find_config_path(path)
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{cfg_path}: config file not found (use --config, $NEWSWATCH_CONFIG or ./newswatch.yaml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot read config: {exc}") from None
    data, lines = _load_with_lines(text, str(cfg_path))
    config = parse_config(data, source=str(cfg_path), lines=lines)
    config.path = cfg_path
    return config


# --------------------------------------------------------------------------- dict -> Config


class _Checker:
    def __init__(self, source: str, lines: dict[str, int]):
        self.source = source
        self.lines = lines

    def error(self, key: str, message: str) -> ConfigError:
        line = self.lines.get(key)
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {key}: {message}")

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

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "expected a non-empty string")
        return value

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

    def regex(self, value: Any, key: str) -> str:
        pattern = self.string(value, key)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.error(key, f"bad regex {pattern!r}: {exc}") from None
        return pattern

    def number(self, value: Any, key: str, kind: type, minimum: float = 0) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return kind(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def interval(self, value: Any, key: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        match = _INTERVAL.match(str(value))
        if not match or int(match.group(1)) <= 0:
            raise self.error(key, f"bad interval {value!r} (use e.g. 90s, 15m, 2h, 1d)")
        return int(match.group(1)) * _INTERVAL_UNITS[match.group(2)]


def expand_env(data: dict[str, Any], checker: _Checker) -> dict[str, Any]:
    """Replace ``${VAR}`` in every string (``$$`` is a literal ``$``); a missing variable is an
    error naming it and the key. Expanded values are registered so logs and output mask them."""
    from newswatch.alerts.secrets import expand_env as expand

    expanded = {}
    for key, value in data.items():
        try:
            expanded[key] = expand(value, str(key))
        except ValueError as exc:
            key_path, _, problem = str(exc).partition(": ")
            raise checker.error(key_path, problem) from None
    return expanded


_TOP_KEYS = {"database", "outlets", "politeness", "browser", "watches", "notify"}
_OUTLET_KEYS = {
    "name", "start_urls", "feeds", "sitemaps", "article_url", "render", "interval",
    "wait_for", "spider", "alert_on_first_crawl", "allowed_domains",
}
_POLITENESS_KEYS = set(Politeness.__dataclass_fields__)
_BROWSER_KEYS = set(Browser.__dataclass_fields__)
_OUTLET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _parse_outlet(raw: Any, key: str, check: _Checker) -> Outlet:
    data = check.mapping(raw, key, _OUTLET_KEYS)
    if "name" not in data:
        raise check.error(key, "missing key 'name'")
    name = check.string(data["name"], f"{key}.name")
    if not _OUTLET_NAME.match(name):
        raise check.error(f"{key}.name", f"bad outlet name {name!r} (letters, digits, _ . -)")
    start_urls = check.urls(data.get("start_urls"), f"{key}.start_urls")
    feeds = check.urls(data.get("feeds"), f"{key}.feeds")
    sitemaps = check.urls(data.get("sitemaps"), f"{key}.sitemaps")
    if not (start_urls or feeds or sitemaps):
        raise check.error(key, f"outlet {name!r} needs at least one of start_urls, feeds, sitemaps")
    render = data.get("render", "auto")
    if render not in RENDER_MODES:
        raise check.error(f"{key}.render", f"expected one of {', '.join(RENDER_MODES)}, got {render!r}")
    domains = data.get("allowed_domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise check.error(f"{key}.allowed_domains", "expected a list of host names")
    return Outlet(
        name=name,
        start_urls=start_urls,
        feeds=feeds,
        sitemaps=sitemaps,
        article_url=check.regex(data.get("article_url", ".*"), f"{key}.article_url"),
        render=render,
        interval_seconds=check.interval(data.get("interval", DEFAULT_INTERVAL), f"{key}.interval"),
        wait_for=check.string(data["wait_for"], f"{key}.wait_for") if data.get("wait_for") else None,
        spider=check.string(data["spider"], f"{key}.spider") if data.get("spider") else None,
        alert_on_first_crawl=check.boolean(
            data.get("alert_on_first_crawl", False), f"{key}.alert_on_first_crawl"
        ),
        allowed_domains=tuple(domains),
    )


def _parse_section(raw: Any, key: str, cls: type, check: _Checker) -> Any:
    data = check.mapping(raw, key, set(cls.__dataclass_fields__))
    defaults = cls()
    values: dict[str, Any] = {}
    for name, value in data.items():
        default = getattr(defaults, name)
        sub = f"{key}.{name}"
        if isinstance(default, bool):
            values[name] = check.boolean(value, sub)
        elif isinstance(default, (int, float)):
            values[name] = check.number(value, sub, type(default))
        else:
            values[name] = check.string(value, sub)
    return cls(**values)


def parse_config(
    data: Any, source: str = "config", lines: dict[str, int] | None = None
) -> Config:
    """Validate a config mapping (already loaded from YAML) into a :class:`Config`."""
    check = _Checker(source, lines or {})
    data = check.mapping(data, "", _TOP_KEYS)
    data = expand_env(data, check)

    database = os.environ.get("NEWSWATCH_DATABASE_URL") or data.get("database") or DEFAULT_DATABASE
    check.string(database, "database")
    if "://" not in database:
        raise check.error("database", f"bad database URL {database!r} (e.g. {DEFAULT_DATABASE})")

    raw_outlets = data.get("outlets") or []
    if not isinstance(raw_outlets, list):
        raise check.error("outlets", "expected a list of outlets")
    outlets: list[Outlet] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_outlets):
        outlet = _parse_outlet(raw, f"outlets[{i}]", check)
        if outlet.name in seen:
            raise check.error(f"outlets[{i}].name", f"duplicate outlet name {outlet.name!r}")
        seen.add(outlet.name)
        outlets.append(outlet)

    watches = data.get("watches") or []
    if not isinstance(watches, list):
        raise check.error("watches", "expected a list of watches")
    notify = data.get("notify") or {}
    if not isinstance(notify, dict):
        raise check.error("notify", "expected a mapping of channel name to channel")

    return Config(
        database=database,
        outlets=outlets,
        politeness=_parse_section(data.get("politeness"), "politeness", Politeness, check),
        browser=_parse_section(data.get("browser"), "browser", Browser, check),
        watches=watches,
        notify=notify,
    )
