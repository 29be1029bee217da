"""The other commands, run as a user would: stories filters, diff, spider overrides, db upgrade."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.localsite import Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html


def outlet(site, **extra):
    return {"name": "local", "start_urls": [site.url + "/ai/"], "article_url": r"/news/\d{4}/",
            "render": "never", **extra}


def run_ok(cli, *args, **kwargs):
    result = cli(*args, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_diff_shows_the_changed_sentence(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", article_html("会变的文章", ZH_PARAGRAPHS, meta_charset="utf-8"))
    config = str(write_config({"outlets": [outlet(site, revisit="always")]}))  # every crawl
    run_ok(cli, "crawl", "--config", config)
    [story] = [json.loads(x) for x in run_ok(cli, "stories", "--config", config, "--json").splitlines()]
    assert "one revision" in run_ok(cli, "diff", str(story["id"]), "--config", config)
    edited = ZH_PARAGRAPHS[:2] + ["公司随后宣布，新模型将免费向高校开放。"] + ZH_PARAGRAPHS[2:]
    site.set("/news/2026/a.html", article_html("会变的文章", edited, meta_charset="utf-8"))
    run_ok(cli, "crawl", "--config", config)
    diff = run_ok(cli, "diff", str(story["id"]), "--config", config, env={"COLUMNS": "200"})
    assert "+ 公司随后宣布，新模型将免费向高校开放。" in diff  # the page's own "，" (issue 10.1)
    assert not any(line.startswith("- ") for line in diff.splitlines())
    missing = cli("diff", "999", "--config", config)
    assert missing.returncode == 1 and "no such story" in missing.stderr


def test_stories_filters(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/zh.html", "/news/2026/en.html"]))
    site.set("/news/2026/zh.html", article_html("中文", ZH_PARAGRAPHS, meta_charset="utf-8"))
    site.set("/news/2026/en.html", article_html("English", EN_PARAGRAPHS, lang="en", meta_charset="utf-8"))
    config = str(write_config({"outlets": [outlet(site)]}))
    run_ok(cli, "crawl", "--config", config)
    rows = [json.loads(x) for x in run_ok(cli, "stories", "--config", config, "--json").splitlines()]
    assert sorted(r["title"] for r in rows) == ["English", "中文"]
    assert {r["language"] for r in rows} == {"en", "zh"}
    assert run_ok(cli, "stories", "--config", config, "--json", "--since", "2999-01-01") == ""
    assert len(run_ok(cli, "stories", "--config", config, "--json", "--outlet", "local").splitlines()) == 2
    bad = cli("stories", "--config", config, "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_spider_override_is_selected_by_name(site, write_config, cli):
    body = "\\n".join(ZH_PARAGRAPHS)
    page = ('<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
            '"headline": "脚本页面", "datePublished": "2026-09-01T08:00:00+08:00", '
            f'"author": {{"name": "李四"}}, "articleBody": "{body}"}}</script></head>'
            '<body><div id="app"></div></body></html>')
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", Page(body=page.encode()))
    config = str(write_config({"outlets": [outlet(site, spider="jsonld")]}))
    run_ok(cli, "crawl", "--config", config)
    [story] = [json.loads(x) for x in run_ok(cli, "stories", "--config", config, "--json").splitlines()]
    assert story["title"] == "脚本页面" and story["author"] == "李四"
    assert story["published"].startswith("2026-09-01")
    unknown = write_config({"outlets": [outlet(site, spider="nope")]}, name="bad.yaml")
    result = cli("crawl", "--config", str(unknown))
    assert result.returncode == 2 and "'nope' is not registered" in result.stderr


def test_db_upgrade_on_a_new_database(tmp_path, write_config, cli):
    config = str(write_config({"database": f"sqlite:///{tmp_path / 'fresh.db'}", "outlets": []}))
    assert "up to date" in run_ok(cli, "db", "upgrade", "--config", config)
    assert (tmp_path / "fresh.db").exists()


def demo_counts(stdout: str, outlet: str) -> dict[str, int]:
    """The counts of ``outlet``'s row of a demo's summary table (printed 200 columns wide)."""
    header = next(line for line in stdout.splitlines() if line.startswith("┃ outlet"))
    [row] = [line for line in stdout.splitlines() if line.startswith(f"│ {outlet}")]
    names = [c.strip() for c in header.strip("┃ ").split("┃")]
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    return {name: int(cell) for name, cell in zip(names[1:], cells[1:], strict=True)}


def test_demo_command_end_to_end(tmp_path, cli):
    """Two demos at once (each on its own free port), then a rerun of one: the rerun answers
    304 and finds the same stories, whatever port it got. The first run crawls the site, then
    the site two days later (one story edited, one new): 9 stories, one diff."""
    wide = {"COLUMNS": "200"}
    runs = {}
    with ThreadPoolExecutor(2) as pool:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            runs[name] = pool.submit(run_ok, cli, "demo", cwd=tmp_path / name, env=wide)
    first, other = runs["one"].result(), runs["two"].result()
    for output in (first, other):
        assert "9 stories" in output and "forbidden by robots.txt" in output
        assert "Serving the demo outlet http://demo.newswatch.test (on http://127.0.0.1:" in output
        assert "Two days later" in output
    assert (tmp_path / "one" / "newswatch-demo.db").exists()
    assert (tmp_path / "one" / "newswatch-demo.yaml").is_file()
    for title in ("數字人主播", "通义千问", "GPT-4"):  # Big5, GBK and UTF-8 pages, decoded
        assert title in first
    assert "\ufffd" not in first
    second = run_ok(cli, "demo", cwd=tmp_path / "one", env=wide)
    ai = demo_counts(second, "demo-ai")
    assert ai["new"] == 0 and ai["duplicate"] == 0 and ai["304"] >= 6 and ai["fetched"] >= ai["304"]
    wire = demo_counts(second, "demo-wire")
    assert wire["new"] == 0 and wire["duplicate"] == 0
    assert "9 stories" in second and "Two days later" not in second


def test_demo_banner_masks_the_database_password(tmp_path, cli):
    result = cli("demo", "--database", "postgresql://newswatch:sekrit-pw@127.0.0.1:1/newswatch",
                 cwd=tmp_path)
    assert result.returncode == 1  # nothing listens on port 1
    assert "storing into postgresql+psycopg://newswatch:***@127.0.0.1:1/newswatch" in result.stdout
    assert "sekrit" not in result.stdout + result.stderr


def test_db_upgrade_needs_no_config_file_when_the_env_names_the_database(tmp_path, cli):
    result = cli("db", "upgrade", cwd=tmp_path, env={"NEWSWATCH_DATABASE_URL": "sqlite:///env.db"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()  # relative to the current folder
    missing = cli("db", "upgrade", cwd=tmp_path)
    assert missing.returncode == 2 and "config file not found" in missing.stderr


def test_db_upgrade_accepts_a_postgresql_url_as_hosts_hand_them_out(db_url, cli, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL case (SQLite: the test above)")
    from newswatch.storage.db import create_engine_for, current_revision

    plain = db_url.replace("postgresql+psycopg://", "postgres://", 1)
    result = cli("db", "upgrade", cwd=tmp_path, env={"NEWSWATCH_DATABASE_URL": plain})
    assert result.returncode == 0, result.stderr
    engine = create_engine_for(db_url)
    try:
        assert current_revision(engine) is not None  # migrated, in this test's schema
    finally:
        engine.dispose()


def test_unknown_names_are_errors_as_for_crawl(site, write_config, cli, tmp_path):
    """`stories --outlet` and `alerts --status` name what they do not know, like `crawl --outlet`."""
    config = write_config({"outlets": [outlet(site)]})
    crawl = cli("crawl", "--config", str(config), "--outlet", "nope")
    stories = cli("stories", "--config", str(config), "--outlet", "nope")
    for result in (crawl, stories):
        assert result.returncode == 2
        assert result.stderr == "error: --outlet nope: no such outlet (configured: local)\n"
    alerts = cli("alerts", "--config", str(config), "--status", "bogus")
    assert alerts.returncode == 2
    assert alerts.stderr == "error: --status bogus: no such status (use pending, sent, failed)\n"
    assert run_ok(cli, "alerts", "--config", str(config), "--status", "failed", "--json") == ""
    # an outlet no longer configured whose stories are stored is still a known name
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", article_html("旧闻", ZH_PARAGRAPHS, meta_charset="utf-8"))
    run_ok(cli, "crawl", "--config", str(config))
    renamed = write_config({"outlets": [outlet(site, name="renamed")]})
    [row] = run_ok(cli, "stories", "--config", str(renamed), "--outlet", "local", "--json").splitlines()
    assert json.loads(row)["title"] == "旧闻"
