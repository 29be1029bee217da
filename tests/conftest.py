"""Shared fixtures: a real local HTTP site, a config writer, and the CLI run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.localsite import LocalSite

pytest_plugins = ["tests.storage_fixtures", "tests.web_fixtures", "tests.frontier_fixtures"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site() -> Iterator[LocalSite]:
    s = LocalSite()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def write_config(tmp_path: Path):
    def write(data: dict[str, Any], name: str = "newswatch.yaml") -> Path:
        data = dict(data)
        data.setdefault("database", f"sqlite:///{tmp_path / 'nw.db'}")
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``newswatch ARGS`` as a real child process (Twisted's reactor is one per process)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NEWSWATCH_DATABASE_URL", None) if "NEWSWATCH_DATABASE_URL" not in (env or {}) else None
    return subprocess.run(
        [sys.executable, "-m", "newswatch.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd or ROOT,
    )


@pytest.fixture
def cli():
    return run_cli
