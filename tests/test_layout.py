"""The package layout: one import package, ``newswatch``, whose rooms keep their folders at the top.

Checked from the source (every import names ``newswatch.<room>``, never a bare room name that
would only resolve from the repository root) and from a built wheel (it holds ``newswatch`` and
its dist-info, nothing else at the top).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("crawler", "spiders", "storage", "scheduler", "extraction", "matching", "alerts", "demo",
         "cli", "events", "entities")
SOURCE_DIRS = (*ROOMS, "newswatch", "alembic", "tests", "benchmarks")


def python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


def imported_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
    return names


def test_every_import_of_a_room_goes_through_newswatch() -> None:
    bare = [f"{path.relative_to(ROOT)}:{line}: import {name}"
            for path in python_files() for line, name in imported_names(path)
            if name.split(".")[0] in ROOMS]
    assert not bare, "\n".join(bare)


def test_the_wheel_holds_only_newswatch(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("newswatch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"newswatch"}
    for room in ROOMS:
        assert f"newswatch/{room}/__init__.py" in names
    assert "newswatch/migrations/env.py" in names
    assert any(n.startswith("newswatch/migrations/versions/0001_") for n in names)
    assert "newswatch/migrations/script.py.mako" in names
    assert "newswatch/entities/data/entities.yaml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "newswatch = newswatch.cli.main:main" in archive.read(entry_points).decode()


def test_the_package_imports_from_any_directory(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()  # a folder named like a room must not be picked up
    (tmp_path / "storage" / "__init__.py").write_text("raise ImportError('wrong storage')\n")
    done = subprocess.run(
        [sys.executable, "-c", "import newswatch.storage, newswatch.crawler, newswatch.cli.main; "
         "import alembic.command; print(newswatch.storage.__name__)"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "newswatch.storage"
