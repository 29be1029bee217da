"""Reading the config: find the file, load the YAML with each key's line, expand ``${VAR}``,
check every section, and have watches and channels checked by their owners.

Found as ``--config PATH``, else ``$NEWSWATCH_CONFIG``, else ``./newswatch.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from newswatch.config.checker import Checker, ConfigError
from newswatch.config.database import DEFAULT_DATABASE, database_from_env, database_url
from newswatch.config.frontier import redis_url
from newswatch.config.model import SECTIONS, Config, Digest, Outlet
from newswatch.errors import first_line

_TOP_KEYS = {"database", "redis", "outlets", "watches", "notify", "entities", *SECTIONS}


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
    config = parse_config(data, source=str(cfg_path), lines=lines, folder=cfg_path.resolve().parent)
    config.path = cfg_path
    return config


def _load_with_lines(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """The YAML document and the line of every key path (``outlets[0].name`` -> 4)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or first_line(str(exc))
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


def parse_config(
    data: Any, source: str = "config", lines: dict[str, int] | None = None,
    folder: Path | None = None,
) -> Config:
    """Validate a config mapping (already loaded from YAML) into a :class:`Config`.
    ``folder``: where the config file is (a relative SQLite path is relative to it; default:
    the current folder)."""
    check = Checker(source, lines or {})
    data = _expand_env(check.mapping(data, "", _TOP_KEYS), check)

    database = database_from_env()
    if database is None:
        written = data.get("database", DEFAULT_DATABASE)
        check.string(written, "database")
        if "://" not in written:
            raise check.error("database", f"bad database URL {written!r} (e.g. {DEFAULT_DATABASE})")
        database = database_url(written, folder)

    config = Config(database=database, redis=redis_url(data.get("redis"), check),
                    outlets=_outlets(data.get("outlets"), check),
                    **{name: check.section(data.get(name), name, cls)
                       for name, cls in SECTIONS.items()})
    config.entity_table = _entity_table(data.get("entities"), check)
    _watches_and_channels(config, data.get("watches"), data.get("notify"), check)
    return config


def _entity_table(raw: Any, check: Checker) -> Any:
    """The bundled entity table with the config's ``entities:`` additions (checked by the
    entities room: ``entities.my-id.names[0]: ...``, with its YAML line)."""
    from newswatch.entities import EntityError, load_table, merge_user_entities

    try:
        return merge_user_entities(load_table(), raw)
    except EntityError as exc:
        raise check.owner_error(exc) from None


def _expand_env(data: dict[str, Any], check: Checker) -> dict[str, Any]:
    """Replace ``${VAR}`` in every string (``$$`` is a literal ``$``); missing (or empty)
    variables are one error naming every one of them with its key and line. Expanded values
    are registered so logs and output mask them."""
    from newswatch.alerts.secrets import expand_env

    missing: list[tuple[str, str]] = []
    try:
        expanded = {key: expand_env(value, str(key), missing=missing) for key, value in data.items()}
    except ValueError as exc:
        raise check.owner_error(exc) from None
    if len(missing) == 1:
        [(key, name)] = missing
        raise check.error(key, f"environment variable {name} is not set (or empty)")
    if missing:
        where = [f"{name} ({key}, line {check.line_of(key)})" if check.line_of(key)
                 else f"{name} ({key})" for key, name in missing]
        raise check.error("", f"{len(missing)} environment variables are not set (or empty): "
                              + ", ".join(where))
    return expanded


def _outlets(raw: Any, check: Checker) -> list[Outlet]:
    raw = raw or []
    if not isinstance(raw, list):
        raise check.error("outlets", "expected a list of outlets")
    outlets: list[Outlet] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"outlets[{i}]"
        outlet = check.section(item, key, Outlet)
        if not (outlet.start_urls or outlet.feeds or outlet.sitemaps):
            raise check.error(key, f"outlet {outlet.name!r} needs at least one of start_urls, "
                                   "feeds, sitemaps")
        if outlet.name in seen:
            raise check.error(f"{key}.name", f"duplicate outlet name {outlet.name!r}")
        seen.add(outlet.name)
        outlets.append(outlet)
    return outlets


def _digest(raw: Any, key: str, check: Checker) -> Digest:
    """A channel's ``digest:`` mapping; ``weekly`` needs a ``weekday``, ``daily`` takes none."""
    if not isinstance(raw, dict):
        raise check.error(key, 'expected a mapping like {every: daily, at: "08:00", tz: UTC}')
    digest: Digest = check.section(raw, key, Digest)
    if digest.every == "weekly" and digest.weekday is None:
        raise check.error(key, "a weekly digest needs a weekday (e.g. weekday: monday)")
    if digest.every == "daily" and digest.weekday is not None:
        raise check.error(f"{key}.weekday", "only a weekly digest takes a weekday")
    return digest


def _entity_hint(word: str, config: Config) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(config.entity_table.entities), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _watches_and_channels(config: Config, watches: Any, notify: Any, check: Checker) -> None:
    """``watches:`` and ``notify:`` checked by their owners (matching.parse_watches,
    alerts.channels.parse_channels), and every channel a watch names must be configured."""
    from newswatch.alerts.channels import parse_channels
    from newswatch.matching import parse_watches

    watches = watches or []
    if not isinstance(watches, list):
        raise check.error("watches", "expected a list of watches")
    notify = notify or {}
    if not isinstance(notify, dict):
        raise check.error("notify", "expected a mapping of channel name to channel")
    digests = {name: _digest(entry["digest"], f"notify.{name}.digest", check)
               for name, entry in notify.items() if isinstance(entry, dict) and "digest" in entry}
    try:
        rules = parse_watches(watches)
        channels = parse_channels({name: {k: v for k, v in entry.items() if k != "digest"}
                                   if name in digests else entry
                                   for name, entry in notify.items()})
    except ValueError as exc:
        raise check.owner_error(exc) from None
    for name, digest in digests.items():
        channels[name].digest = digest
    for i, rule in enumerate(rules):
        for j, entity in enumerate(rule.entities):
            if entity not in config.entity_table:
                raise check.error(f"watches[{i}].entities[{j}]",
                                  f"unknown entity {entity!r}{_entity_hint(entity, config)}")
        for j, name in enumerate(rule.notify):
            if name not in channels:
                known = ", ".join(sorted(channels)) or "none configured"
                raise check.error(f"watches[{i}].notify[{j}]",
                                  f"unknown channel {name!r} (notify: {known})")
    config.watches, config.notify = watches, notify
    config.watch_rules, config.channels = rules, channels
