"""Where the benchmarks find the shared bench pages, and what one does without them.

The pages (``en/`` and ``zh/``, each ``pages/*.html`` and ``truth/*.txt``, and ``score.py``) are
``$NEWSWATCH_BENCH_DIR``, else ``<repo>/../shared/bench`` (the project machines' layout; a user's
clone has no such folder). A benchmark that needs them and finds none prints one line saying
what it needs and exits with :data:`SKIPPED` (2), which ``.ci/run`` reports as skipped; the
others use data they ship or generate.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

SKIPPED = 2
"""Exit status of a benchmark that could not run for lack of data (not a failure)."""

ENV = "NEWSWATCH_BENCH_DIR"


def bench_dir() -> Path:
    env = os.environ.get(ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "bench"


def skip(what: str) -> NoReturn:
    """One line naming what the benchmark needs, then exit :data:`SKIPPED`."""
    script = Path(sys.argv[0]).name
    print(f"{script}: skipped: needs {what} in {bench_dir()} (set ${ENV})", flush=True)
    raise SystemExit(SKIPPED)


def pages(*langs: str) -> list[Path]:
    """The bench pages of these languages (``en``, ``zh``), or skip the benchmark."""
    found = sorted(p for lang in langs for p in (bench_dir() / lang / "pages").glob("*.html"))
    if not found:
        skip(f"the shared bench pages ({', '.join(f'{lang}/pages/*.html' for lang in langs)})")
    return found
