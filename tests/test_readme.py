"""The README is true: its config reference loads as shown, with the defaults it says it shows."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newswatch.config import Browser, Events, Outlet, Politeness, load_config, parse_config
from tests.readme import ROOT, code_blocks, plausible_env, variables


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
    digest = config.channels["team-mail"].digest  # the digest example
    assert (digest.every, digest.at, digest.tz) == ("daily", "08:00", "Asia/Shanghai")
    assert config.events == Events()  # the events section shows the defaults
    assert config.watch_rules[0].entities == ("qwen",) and not config.watch_rules[0].every_copy
    assert config.entity_table["my-lab"].context == ("model", "模型")


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


COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")
def test_the_readme_deployment_steps_agree_with_the_compose_file(tmp_path, monkeypatch):
    """The Deployment steps, run as written in a copy of the repository's deployment files:
    every folder the compose file mounts exists afterwards (else Docker makes an empty one), the
    config the daemon reads is the one the steps wrote, every ${VAR} of it reaches the container
    and is one .env.example lists, and with them set it loads, on the PostgreSQL service."""
    for name in ("docker-compose.yml", ".env.example", "newswatch.example.yaml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    [steps] = code_blocks("Deployment", "sh")
    for line in steps.splitlines():
        command = line.split("#")[0].strip()
        if command and not command.startswith("docker"):
            subprocess.run(command, shell=True, cwd=tmp_path, check=True)
    dot_env = (tmp_path / ".env").read_text()
    filled = {line.split("=")[0]: line.split("=", 1)[1] for line in dot_env.splitlines()
              if re.match(r"^[A-Z_]+=", line)}
    written = (tmp_path / "deploy" / "newswatch.yaml").read_text(encoding="utf-8")
    needed = variables(written)
    assert needed and needed <= set(filled), needed - set(filled)  # .env.example names them
    secrets = {**filled, **{k: v for k, v in plausible_env(written).items() if not filled.get(k)}}
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))  # "set"
    rendered = subprocess.run([COMPOSE, "-f", "docker-compose.yml", "config"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, check=True)
    service = yaml.safe_load(rendered.stdout)["services"]["newswatch"]

    mounts = {}
    for volume in service["volumes"]:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        assert Path(source).exists(), f"{source} is missing: Docker would make an empty folder"
        mounts[target] = Path(source)
    command = service["command"]
    config_in_container = command[command.index("--config") + 1]
    [(target, source)] = [(t, s) for t, s in mounts.items()
                          if config_in_container.startswith(t.rstrip("/") + "/")]
    on_host = source / Path(config_in_container).relative_to(target)
    assert on_host.is_file() and on_host.read_text(encoding="utf-8") == written

    environment = service["environment"]
    assert needed <= set(environment), needed - set(environment)
    for var in needed:
        assert environment[var] == secrets[var]
    raw = yaml.safe_load((tmp_path / "docker-compose.yml").read_text())
    from_dot_env = {var for value in raw["services"]["newswatch"]["environment"].values()
                    for var in re.findall(r"\$\{([A-Z_]+)", str(value))}
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", dot_env, re.M))  # optional ones commented out
    assert from_dot_env <= listed, from_dot_env - listed
    for var in list(os.environ):
        if var.startswith("NEWSWATCH_") or var in needed:
            monkeypatch.delenv(var)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    config = load_config(on_host)
    assert config.database.startswith("postgresql+psycopg://newswatch:")
    assert config.outlets and config.channels
