"""The README is true: its config reference loads as shown, with the defaults it says it shows."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from newswatch.config import Browser, Outlet, Politeness, parse_config
from tests.readme import code_blocks, plausible_env


@pytest.fixture
def reference(monkeypatch) -> dict:
    """The config reference, verbatim, with a plausible value for each ``${VAR}`` it reads."""
    [block] = code_blocks("Config reference", "yaml")
    for var, value in plausible_env(block).items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    return yaml.safe_load(block)


def yaml_keys(cls: type) -> set[str]:
    return {f.metadata.get("yaml") or f.name for f in dataclasses.fields(cls)}


def test_the_config_reference_loads_verbatim(reference):
    config = parse_config(reference, source="README.md")
    assert [o.name for o in config.outlets] == ["heldout"]
    assert config.politeness.user_agent is None  # `user_agent: null` as shown
    assert [w.name for w in config.watch_rules] == ["qwen"]
    assert set(config.channels) == {"team-hook", "team-mail", "team-chat"}


def test_the_config_reference_names_every_key_with_its_default(reference):
    """"all optional; defaults shown": every key of the sections, each with its real default."""
    for name, cls in (("politeness", Politeness), ("browser", Browser)):
        shown = reference[name]
        assert set(shown) == yaml_keys(cls), name
        for f in dataclasses.fields(cls):
            assert shown[f.name] == f.default, f"{name}.{f.name}"
    outlet = reference["outlets"][0]
    assert set(outlet) == yaml_keys(Outlet)
    defaults = {(f.metadata.get("yaml") or f.name): f.default for f in dataclasses.fields(Outlet)}
    for key in ("render", "wait_for", "alert_on_first_crawl", "spider"):
        assert outlet[key] == defaults[key], key
