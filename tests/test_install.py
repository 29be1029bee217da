"""The package as installed, run from any folder: a crawl started from a folder holding a
``newswatch/`` directory (the repository root, after ``pip install .``: the README's Quick
start) still extracts its pages with the installed package in every worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.localsite import LocalSite
from tests.pages import ZH_PARAGRAPHS, article_html, listing_html


def test_a_crawl_from_a_folder_with_a_newswatch_directory_extracts_its_pages(
        tmp_path: Path, site: LocalSite, write_config) -> None:
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", article_html("从源码目录运行", ZH_PARAGRAPHS, meta_charset="utf-8"))
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": r"/news/\d{4}/", "render": "never"}]})
    here = tmp_path / "checkout"  # like the repository root: a newswatch/ without the rooms
    (here / "newswatch").mkdir(parents=True)
    (here / "newswatch" / "__init__.py").write_text('"""Not the installed package."""\n')
    script = tmp_path / "bin" / "newswatch"  # like the console script pip writes
    script.parent.mkdir()
    script.write_text("import sys\nfrom newswatch.cli.main import main\n"
                      "if __name__ == '__main__':\n    sys.exit(main())\n")
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_DATABASE_URL"}
    env["NEWSWATCH_EXTRACT_WORKERS"] = "1"  # the pool in worker processes, whatever the cores
    run = [sys.executable, str(script)]
    crawl = subprocess.run([*run, "crawl", "--config", str(config)], cwd=here, env=env,
                           capture_output=True, text=True, timeout=300)
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    assert "No module named" not in crawl.stderr, crawl.stderr
    stories = subprocess.run([*run, "stories", "--config", str(config), "--json"], cwd=here,
                             env=env, capture_output=True, text=True, timeout=120)
    assert "从源码目录运行" in stories.stdout, crawl.stdout + crawl.stderr
