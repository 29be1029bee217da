"""The entity table: AI organisations, products and models with their names and alias rules.

``load_table()`` reads the bundled, versioned table (``data/entities.yaml``);
``merge_user_entities(table, config["entities"])`` adds or extends entries from the config.
Both check every entry and raise ``EntityError`` with one line naming the key, e.g.
``entities.my-lab.parent: unknown entity 'open-ai' (did you mean 'openai'?)``.

An entry (YAML and config alike)::

    deepseek-r1:
      kind: model                    # org | product | model (config default: org)
      parent: deepseek               # a watch on the parent catches this entity too
      label: {en: DeepSeek-R1, zh: DeepSeek-R1}
      names: [DeepSeek-R1]           # always count; {name: xAI, cased: true} keeps case
      aliases: [R1]                  # need context: {alias: Spark, context: [...], cased: true}
      context: [推理模型, reasoning model]   # inherited by children
      exclude: [R1 visa]             # phrases in which an alias never counts

The rules themselves (word boundaries, context distance, families) live in ``tagger``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from typing import Any

import yaml

from .fold import fold

__all__ = ["Alias", "Entity", "EntityError", "EntityTable", "KINDS", "load_table",
           "merge_user_entities", "parse_table"]

KINDS = ("org", "product", "model")
ENTRY_KEYS = ("kind", "parent", "label", "names", "aliases", "context", "exclude")


class EntityError(ValueError):
    """An entity entry is invalid (message: one line naming the key)."""


@dataclass(frozen=True)
class Alias:
    """One spelling of an entity. ``needs_context``: an alias (an ordinary word too);
    ``context``: its own context words (``None``: the entity's and its parents')."""

    text: str
    needs_context: bool = False
    cased: bool = False
    context: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str
    parent: str | None = None
    label_en: str = ""
    label_zh: str = ""
    names: tuple[Alias, ...] = ()
    aliases: tuple[Alias, ...] = ()
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[Alias, ...]:
        return self.names + self.aliases


@dataclass(frozen=True)
class EntityTable:
    """Entities by id, with the bundled table's ``version`` and a ``fingerprint`` of the
    whole content (it changes when the config adds entities: re-tag when it moves)."""

    version: int
    entities: Mapping[str, Entity] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entities)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.entities

    def __getitem__(self, entity_id: str) -> Entity:
        return self.entities[entity_id]

    def get(self, entity_id: str, where: str = "entity") -> Entity:
        """The entity, or ``EntityError`` naming ``where`` with the closest known id."""
        try:
            return self.entities[entity_id]
        except KeyError:
            raise EntityError(f"{where}: unknown entity {entity_id!r}{_hint(entity_id, self.entities)}") from None

    def lineage(self, entity_id: str) -> tuple[str, ...]:
        """The entity and its parents, nearest first: ``("deepseek-r1", "deepseek")``."""
        return self._lineages[entity_id]

    def root(self, entity_id: str) -> str:
        """The top of the entity's lineage (its family: every entity with the same root)."""
        return self._lineages[entity_id][-1]

    def descendants(self, entity_id: str) -> frozenset[str]:
        """The entity and every entity below it (what a watch on it catches)."""
        return self._descendants[entity_id]

    def with_parents(self, entity_ids: Iterable[str]) -> frozenset[str]:
        """The ids and all their parents (a story tagged ``deepseek-r1`` is about ``deepseek``)."""
        return frozenset(a for eid in entity_ids for a in self._lineages.get(eid, (eid,)))

    def effective_context(self, entity_id: str) -> tuple[str, ...]:
        """Context words of the entity and of its parents."""
        words: dict[str, None] = {}
        for eid in self.lineage(entity_id):
            words.update(dict.fromkeys(self.entities[eid].context))
        return tuple(words)

    @cached_property
    def _lineages(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for eid in self.entities:
            chain = [eid]
            while (parent := self.entities[chain[-1]].parent) is not None:
                chain.append(parent)
            out[eid] = tuple(chain)
        return out

    @cached_property
    def _descendants(self) -> dict[str, frozenset[str]]:
        below: dict[str, set[str]] = {eid: set() for eid in self.entities}
        for eid, chain in self._lineages.items():
            for ancestor in chain:
                below[ancestor].add(eid)
        return {eid: frozenset(ids) for eid, ids in below.items()}

    @cached_property
    def fingerprint(self) -> str:
        """sha256 (16 hex) of the table's content, user additions included."""
        canon = json.dumps(
            [self.version, sorted((eid, repr(e)) for eid, e in self.entities.items())],
            ensure_ascii=False,
        )
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_table() -> EntityTable:
    """The bundled table (``newswatch/entities/data/entities.yaml``)."""
    text = resources.files(__package__).joinpath("data", "entities.yaml").read_text("utf-8")
    return parse_table(yaml.safe_load(text), where="entities.yaml")


def parse_table(raw: Any, where: str = "table") -> EntityTable:
    """A table from its YAML mapping ``{version: N, entities: {id: entry}}``."""
    if not isinstance(raw, Mapping):
        raise EntityError(f"{where}: expected a mapping with version and entities")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise EntityError(f"{where}.version: expected a positive integer, got {version!r}")
    unknown = set(raw) - {"version", "entities"}
    if unknown:
        raise EntityError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    entries = raw.get("entities")
    if not isinstance(entries, Mapping) or not entries:
        raise EntityError(f"{where}.entities: expected a non-empty mapping of id -> entry")
    entities = {}
    for eid, entry in entries.items():
        entity = _parse_entry(eid, entry, f"{where}.entities", kind_required=True)
        entities[entity.id] = entity
    return _checked(EntityTable(version, entities), f"{where}.entities")


def merge_user_entities(table: EntityTable, raw: Any, where: str = "entities") -> EntityTable:
    """The table with the config's ``entities:`` mapping merged in.

    A new id adds an entity (``kind`` defaults to ``org``); a known id extends it: its
    names, aliases, context and exclude lists grow, ``kind``/``parent``/``label`` replace.
    ``None`` or an empty mapping gives the table back unchanged.
    """
    if raw is None:
        return table
    if not isinstance(raw, Mapping):
        raise EntityError(f"{where}: expected a mapping of entity id -> entry, got {type(raw).__name__}")
    entities = dict(table.entities)
    for eid, entry in raw.items():
        added = _parse_entry(eid, entry, where, kind_required=False)
        old = entities.get(added.id)
        if old is None:
            entities[added.id] = added
            continue
        given = entry or {}
        entities[added.id] = replace(
            old,
            kind=added.kind if "kind" in given else old.kind,
            parent=added.parent if "parent" in given else old.parent,
            label_en=added.label_en if "label" in given else old.label_en,
            label_zh=added.label_zh if "label" in given else old.label_zh,
            names=_union(old.names, added.names),
            aliases=_union(old.aliases, added.aliases),
            context=_union(old.context, added.context),
            exclude=_union(old.exclude, added.exclude),
        )
    return _checked(EntityTable(table.version, entities), where)


def _union(old: tuple, new: tuple) -> tuple:
    return tuple(dict.fromkeys(old + new))


def _parse_entry(eid: Any, entry: Any, where: str, kind_required: bool) -> Entity:
    if not isinstance(eid, str) or not eid.strip() or eid != eid.strip().lower() or " " in eid:
        raise EntityError(f"{where}: entity id {eid!r} must be lower case without spaces")
    at = f"{where}.{eid}"
    if entry is None:
        entry = {}
    if not isinstance(entry, Mapping):
        raise EntityError(f"{at}: expected a mapping, got {type(entry).__name__}")
    for key in entry:
        if key not in ENTRY_KEYS:
            raise EntityError(
                f"{at}: unknown key {key!r}{_hint(key, ENTRY_KEYS)} (allowed: {', '.join(ENTRY_KEYS)})"
            )
    kind = entry.get("kind", None if kind_required else "org")
    if kind not in KINDS:
        raise EntityError(f"{at}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    parent = entry.get("parent")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise EntityError(f"{at}.parent: expected an entity id, got {parent!r}")
    label = entry.get("label") or {}
    if not isinstance(label, Mapping) or set(label) - {"en", "zh"}:
        raise EntityError(f"{at}.label: expected {{en: ..., zh: ...}}, got {label!r}")
    for lang, value in label.items():
        if not isinstance(value, str) or not value.strip():
            raise EntityError(f"{at}.label.{lang}: expected a non-empty string")
    names = tuple(_parse_alias(item, f"{at}.names[{i}]", "name")
                  for i, item in enumerate(_list(entry.get("names"), f"{at}.names")))
    aliases = tuple(_parse_alias(item, f"{at}.aliases[{i}]", "alias")
                    for i, item in enumerate(_list(entry.get("aliases"), f"{at}.aliases")))
    context = _strings(entry.get("context"), f"{at}.context")
    exclude = _strings(entry.get("exclude"), f"{at}.exclude")
    first = (names or aliases)[0].text if (names or aliases) else eid
    return Entity(
        id=eid, kind=kind, parent=parent.strip() if parent else None,
        label_en=label.get("en", first), label_zh=label.get("zh", label.get("en", first)),
        names=names, aliases=aliases, context=context, exclude=exclude,
    )


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple):
        raise EntityError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise EntityError(f"{where}: expected a string, got {type(value).__name__} {value!r} (quote it in YAML)")
    if not fold(value).strip():
        raise EntityError(f"{where}: empty string")
    return value.strip()


def _strings(value: Any, where: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_string(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))))


def _parse_alias(item: Any, where: str, key: str) -> Alias:
    """``"R1"`` or ``{alias: R1, context: [...], cased: true}`` (``name:`` in ``names``)."""
    needs_context = key == "alias"
    if not isinstance(item, Mapping):
        return Alias(_string(item, where), needs_context)
    allowed = (key, "cased", "context") if needs_context else (key, "cased")
    for k in item:
        if k not in allowed:
            raise EntityError(f"{where}: unknown key {k!r}{_hint(k, allowed)} (allowed: {', '.join(allowed)})")
    if key not in item:
        raise EntityError(f"{where}: missing {key!r}")
    text = _string(item[key], f"{where}.{key}")
    cased = item.get("cased", False)
    if not isinstance(cased, bool):
        raise EntityError(f"{where}.cased: expected true or false, got {cased!r}")
    if cased and not text.isascii():
        raise EntityError(f"{where}.cased: only Latin spellings can be cased, not {text!r}")
    context = None
    if "context" in item:
        context = _strings(item["context"], f"{where}.context")
        if not context:
            raise EntityError(f"{where}.context: give at least one word (or leave the key out)")
    return Alias(text, needs_context, cased, context)


def _checked(table: EntityTable, where: str) -> EntityTable:
    """Parents exist and form no cycle; every alias can count (has context or a family name)."""
    entities = table.entities
    for eid, entity in entities.items():
        if entity.parent is not None and entity.parent not in entities:
            raise EntityError(
                f"{where}.{eid}.parent: unknown entity {entity.parent!r}{_hint(entity.parent, entities)}"
            )
        chain = [eid]
        parent = entity.parent
        while parent is not None:
            chain.append(parent)
            if parent in chain[:-1]:
                raise EntityError(f"{where}.{eid}.parent: a cycle ({' -> '.join(chain)})")
            parent = entities[parent].parent
    for eid, entity in entities.items():
        if not entity.spellings:
            raise EntityError(f"{where}.{eid}: needs at least one of names, aliases")
        for i, alias in enumerate(entity.aliases):
            if alias.context is None and not table.effective_context(eid) and not _family_has_names(table, eid):
                raise EntityError(
                    f"{where}.{eid}.aliases[{i}]: {alias.text!r} needs context words "
                    f"({where}.{eid}.context) or a name in its family"
                )
    return table


def _family_has_names(table: EntityTable, eid: str) -> bool:
    root = table.root(eid)
    return any(table.entities[other].names for other in table.descendants(root))
