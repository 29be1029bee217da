"""The package layout: one import package, ``newswatch``, whose rooms keep their folders at the top.

Checked from the source (every import names ``newswatch.<room>``, never a bare room name that
would only resolve from the repository root; rooms import only in the one direction of travel,
docs/ARCHITECTURE.md) and from a built wheel (it holds ``newswatch`` and its dist-info, nothing
else at the top).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("config", "crawler", "spiders", "storage", "scheduler", "extraction", "matching", "alerts",
         "demo", "cli", "web", "events", "entities")
SOURCE_DIRS = (*ROOMS, "newswatch", "alembic", "tests", "benchmarks")


def python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


def imported_names(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """Every module the file imports, at any depth (function-level imports too); relative
    imports are resolved against ``package`` when given, else left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and package:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            names.append((node.lineno, f"{base}.{node.module}" if node.module else base))
    return names


def room_of(module: str) -> str | None:
    """``newswatch.storage.db`` -> ``storage``; kernel modules (``newswatch.text``) -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "newswatch" and len(parts) > 1 and parts[1] in ROOMS else None


# room -> rooms it must not import (kernel modules directly in newswatch/ are always allowed)
FORBIDDEN = {
    "storage": set(ROOMS) - {"storage"},
    "extraction": set(ROOMS) - {"extraction"},
    "matching": set(ROOMS) - {"matching"},
    "spiders": {"crawler"},
    "crawler": {"alerts"},
    "entities": set(ROOMS) - {"entities"},
    "events": set(ROOMS) - {"events", "entities"},
    # the dashboard reads what is stored: it never crawls, schedules or sends
    "web": {"crawler", "spiders", "extraction", "scheduler", "alerts", "cli", "demo"},
}


def test_rooms_import_only_in_the_direction_of_travel() -> None:
    wrong = []
    for room, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / room).rglob("*.py")):
            package = f"newswatch.{room}"  # every room is one flat package
            for line, name in imported_names(path, package):
                if room_of(name) in forbidden:
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {room} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_import_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import newswatch.alerts\nfrom .fold import x\nfrom . import rules\n"
                      "def f():\n    from newswatch.crawler.run import run_crawl\n")
    names = [name for _, name in imported_names(module, "newswatch.matching")]
    assert names == ["newswatch.alerts", "newswatch.matching.fold", "newswatch.matching",
                     "newswatch.crawler.run"]
    assert [room_of(n) for n in names] == ["alerts", "matching", "matching", "crawler"]
    assert room_of("newswatch.text") is None and room_of("scrapy.http") is None


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
    assert "newswatch/text.py" in names and "newswatch/errors.py" in names
    assert any(n.startswith("newswatch/migrations/versions/0001_") for n in names)
    assert "newswatch/migrations/script.py.mako" in names
    assert "newswatch/entities/data/entities.yaml" in names
    assert "newswatch/web/templates/story.html" in names and "newswatch/web/static/style.css" in names
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
