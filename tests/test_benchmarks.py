"""Every benchmark runs in a user's clone, without the shared bench pages: it uses data it ships
(or generates), or says in one line what it needs and exits 2, which .ci/run reports as skipped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if "__main__" in p.read_text())
READS_THE_BENCH = [p for p in SCRIPTS if "benchdata" in p.read_text()]


def test_only_benchdata_knows_where_the_shared_pages_are():
    assert {p.name for p in READS_THE_BENCH} >= {"crawl_throughput.py", "extraction.py",
                                                  "matching.py", "storage_write.py"}
    for script in SCRIPTS:
        assert '"shared"' not in script.read_text(), script.name


@pytest.mark.parametrize("script", READS_THE_BENCH, ids=lambda p: p.name)
def test_a_benchmark_without_the_shared_pages_runs_or_says_what_it_needs(script, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "NEWSWATCH_BENCH_DIR": str(tmp_path / "no-bench")}
    result = subprocess.run([sys.executable, str(script), "--small"], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path, env=env)
    assert result.returncode in (0, 2), result.stdout + result.stderr
    if result.returncode == 2:
        assert result.stderr == ""
        assert re.fullmatch(rf"{script.name}: skipped: needs .+ in {tmp_path}/no-bench "
                            r"\(set \$NEWSWATCH_BENCH_DIR\)\n", result.stdout), result.stdout
