"""The README is true: its config reference loads as shown, with the defaults it says it shows."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
import sys

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


def test_the_readme_serves_the_demo_outlet_for_your_own_config(tmp_path, cli):
    """The Quick start's `python -m newswatch.demo` block, run as written (in a fresh folder)."""
    [block] = [b for b in code_blocks("Quick start", "sh") if "python -m newswatch.demo" in b]
    commands = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip()]
    serve, *crawls = commands
    assert serve[:3] == ["python", "-m", "newswatch.demo"] and serve[-1] == "&"
    assert all(c[0] == "newswatch" for c in crawls)
    server = subprocess.Popen([sys.executable, *serve[1:-1]], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert server.stdout is not None
        said = [server.stdout.readline(), server.stdout.readline()]  # waits for the server
        assert said[1].startswith("config written to demo.yaml"), said
        for command in crawls:
            result = cli(*command[1:], cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        stories = cli("stories", "--config", "demo.yaml", "--json", cwd=tmp_path)
        assert len(stories.stdout.splitlines()) == 8
        assert (tmp_path / "newswatch-demo.db").exists()  # next to the config
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
