"""Watch rules: the ``Watch`` dataclass and ``parse_watches`` for the ``watches:`` config list.

A watch matches an article when (any of ``terms``, any of ``regex`` or any of ``entities``
hits, or, when all three are empty, ``all`` is given) and every one of ``all`` appears and none of ``exclude`` appears, and
the outlet is one of ``outlets`` (when given). Matching itself lives in ``matching.matcher``.
``entities`` are entity ids of the entity table (``deepseek``): one hits when the story's
entities (tagged when stored, parents included) contain it; the config loader checks that the
ids exist. ``every_copy``: alert on every story of a news event, not only its first (the alert
planner applies it).

Errors are ``WatchError`` with one line naming the culprit, e.g.
``watches[2].regex[0]: bad regex 'GPT-(' in watch 'gpt': missing ), unterminated subpattern``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import InitVar, dataclass, field, fields
from typing import Any

from newswatch.fold import _t2s, fold

__all__ = ["Watch", "WatchError", "parse_watches", "WATCH_KEYS"]


class WatchError(ValueError):
    """A watch definition is invalid (message: one line naming the key or watch)."""


@dataclass(frozen=True)
class Watch:
    name: str
    terms: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    alert_on_first_crawl: bool = False
    entities: tuple[str, ...] = ()
    every_copy: bool = False
    # Where the watch came from, for error messages (e.g. "watches[2]").
    source: InitVar[str | None] = None
    # Compiled ``regex`` (against folded text), filled in by __post_init__.
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self, source: str | None) -> None:
        _check_watch(self, source or f"watch {self.name!r}")

    def allows_outlet(self, outlet: str | None) -> bool:
        """True if the watch applies to ``outlet`` (``None``: unknown, no limit applied)."""
        if not self.outlets or outlet is None:
            return True
        wanted = outlet.casefold()
        return any(o.casefold() == wanted for o in self.outlets)


_LIST_KEYS = ("terms", "all", "exclude", "regex", "outlets", "notify", "entities")
_BOOL_KEYS = ("alert_on_first_crawl", "every_copy")
WATCH_KEYS = tuple(f.name for f in fields(Watch) if f.init)


def compile_watch_regex(pattern: str) -> re.Pattern[str]:
    """Compile a watch regex for folded text: IGNORECASE, CJK in the pattern folded to simplified.

    Only the traditional -> simplified step is applied to the pattern (it maps CJK ideographs
    one for one and never touches regex syntax); NFKC could turn full-width brackets into
    regex syntax, and IGNORECASE covers case.
    """
    return re.compile(_t2s(pattern), re.IGNORECASE)


def _check_watch(watch: Watch, where: str) -> None:
    """Validate a Watch in place and compile its regexes; ``where`` prefixes the messages."""
    if not isinstance(watch.name, str) or not watch.name.strip():
        raise WatchError(f"{where}.name: must be a non-empty string")
    for key in _LIST_KEYS:
        values = getattr(watch, key)
        if isinstance(values, list):
            values = tuple(values)
            object.__setattr__(watch, key, values)
        if isinstance(values, str) or not isinstance(values, tuple):
            raise WatchError(f"{where}.{key}: expected a list of strings")
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise WatchError(f"{where}.{key}[{i}]: must be a non-empty string")
            if key in ("terms", "all", "exclude") and not fold(value).strip():
                raise WatchError(f"{where}.{key}[{i}]: {value!r} folds to nothing")
    for key in _BOOL_KEYS:
        if not isinstance(getattr(watch, key), bool):
            raise WatchError(f"{where}.{key}: expected true or false")
    if not (watch.terms or watch.regex or watch.all or watch.entities):
        raise WatchError(f"{where}: needs at least one of terms, regex, all, entities")
    patterns = []
    named = "" if where.startswith("watch ") else f" in watch {watch.name!r}"
    for i, pattern in enumerate(watch.regex):
        try:
            compiled = compile_watch_regex(pattern)
        except re.error as exc:
            raise WatchError(
                f"{where}.regex[{i}]: bad regex {pattern!r}{named}: {exc.msg}"
            ) from None
        if compiled.search("") is not None:
            raise WatchError(f"{where}.regex[{i}]: regex {pattern!r}{named} matches empty text")
        patterns.append(compiled)
    object.__setattr__(watch, "patterns", tuple(patterns))


def _as_strings(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings (or one string) from config, stripped."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise WatchError(f"{where}: expected a list of strings, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise WatchError(
                f"{where}[{i}]: expected a string, got {type(item).__name__} {item!r}"
                " (quote it in YAML)"
            )
        if not item.strip():
            raise WatchError(f"{where}[{i}]: empty string")
        out.append(item.strip())
    return tuple(out)


def parse_watch(raw: Any, where: str = "watch") -> Watch:
    """One watch from a config mapping; errors name ``where`` plus the key."""
    if not isinstance(raw, Mapping):
        raise WatchError(f"{where}: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in WATCH_KEYS:
            close = difflib.get_close_matches(str(key), WATCH_KEYS, n=1)
            hint = f", did you mean {close[0]!r}?" if close else ""
            raise WatchError(
                f"{where}: unknown key {key!r}{hint} (allowed: {', '.join(WATCH_KEYS)})"
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WatchError(f"{where}.name: required, a non-empty string")
    flags = {key: raw.get(key, False) for key in _BOOL_KEYS}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise WatchError(f"{where}.{key}: expected true or false, got {value!r}")
    lists = {key: _as_strings(raw.get(key), f"{where}.{key}") for key in _LIST_KEYS}
    lists["entities"] = tuple(e.casefold() for e in lists["entities"])
    return Watch(name=name.strip(), source=where, **flags, **lists)


def parse_watches(raw: Iterable[Any] | None, where: str = "watches") -> list[Watch]:
    """Watches from the config list; names must be unique. ``None`` gives no watches."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable) or isinstance(raw, Mapping):
        raise WatchError(f"{where}: expected a list of watches, got {type(raw).__name__}")
    watches: list[Watch] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        watch = parse_watch(item, f"{where}[{i}]")
        if watch.name in seen:
            raise WatchError(
                f"{where}[{i}].name: duplicate watch name {watch.name!r}"
                f" (also {where}[{seen[watch.name]}])"
            )
        seen[watch.name] = i
        watches.append(watch)
    return watches
