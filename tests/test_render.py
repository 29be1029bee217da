"""Browser fallback end to end: real headless Chromium, a real local site, the real CLI.

Chromium is started through a small wrapper script that records each launch and tags the
browser's environment, so a test sees exactly the Chromium processes its own crawl started
(and that none is left afterwards), whatever other tests run meanwhile.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

ARTICLE_RE = r"/news/\d{4}/"
REAL_CHROMIUM = os.environ.get("NEWSWATCH_CHROMIUM") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(REAL_CHROMIUM, os.X_OK),
                       reason=f"no Chromium at {REAL_CHROMIUM} (apt-get install chromium)"),
]

ZH_OTHER = [
    "一家芯片初创公司宣布完成新一轮融资，资金将用于研发面向大模型推理的专用加速芯片。",
    "公司创始人表示，推理成本是大模型普及的最大障碍，专用芯片可以把单次调用的成本降低一半以上。",
    "投资方认为，随着应用规模扩大，推理算力需求将在未来三年超过训练算力需求。",
    "该公司计划明年推出首款量产芯片，并与多家云服务商开展合作测试。",
]


def script_page(title: str, paragraphs: list[str], *, delay_ms: int = 300,
                root: str = '<div id="app"></div>', extra_script: str = "") -> str:
    """An article whose text a script writes into the page after ``delay_ms``."""
    html = json.dumps(f"<h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs),
                      ensure_ascii=False)
    return f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="https://fonts.example.invalid/font.css"></head>
<body>{root}<img src="/big-picture.png">
<script>setTimeout(function () {{
  var el = document.getElementById("app") || document.body;
  el.innerHTML = {html};
}}, {delay_ms});{extra_script}</script></body></html>"""


class Browser:
    """A wrapper around the real Chromium that logs launches and tags the processes it starts."""

    def __init__(self, tmp_path: Path):
        self.tag = f"nwtest-{uuid.uuid4().hex}"
        self.log = tmp_path / "chromium-launches.log"
        self.path = tmp_path / "chromium"
        self.path.write_text(f"#!/bin/sh\necho $$ >> '{self.log}'\n"
                             f"export NEWSWATCH_TEST_TAG={self.tag}\nexec '{REAL_CHROMIUM}' \"$@\"\n")
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)

    @property
    def launches(self) -> int:
        return len(self.log.read_text().split()) if self.log.exists() else 0

    def processes(self) -> set[int]:
        """Live processes (not zombies) carrying this test's tag: its Chromium and children."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self.tag.encode() not in (entry / "environ").read_bytes():
                    continue
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.add(int(entry.name))
        return found

    def gone_after_crawl(self) -> bool:
        for _ in range(50):  # the browser's helpers may take a moment to exit
            if not self.processes():
                return True
            time.sleep(0.1)
        return False


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser(tmp_path)


def outlet(site: LocalSite, **extra: object) -> dict:
    data: dict[str, object] = {"name": "local", "start_urls": [site.url + "/ai/"],
                               "article_url": ARTICLE_RE}
    data.update(extra)
    return data


def crawl(cli, config: Path, browser: Browser | None, *args: str,
          chromium: str | None = None) -> str:
    env = {"NEWSWATCH_CHROMIUM": chromium or str(browser.path)} if (browser or chromium) else None
    result = cli("crawl", "--config", str(config), *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def stories(cli, config: Path) -> dict[str, dict]:
    result = cli("stories", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    return {s["title"]: s for s in map(json.loads, result.stdout.splitlines()) if s}


def by_chromium(site: LocalSite, path: str) -> list[bool]:
    """For each request the server saw for path: was it made by Chromium?"""
    return ["Chromium" in h.headers.get("sec-ch-ua", "") for h in site.requests_for(path)]


def has_text(story: dict, paragraphs: list[str]) -> bool:
    return all(p in story["text"] for p in paragraphs)


# --------------------------------------------------------------------------- tests


def test_script_page_is_rendered_and_static_page_is_not(site, write_config, cli, browser):
    site.set("/ai/", listing_html(["/news/2026/js.html", "/news/2026/static.html"]))
    site.set("/news/2026/js.html", script_page("脚本写的文章", ZH_PARAGRAPHS))
    site.set("/news/2026/static.html", article_html("Static story", EN_PARAGRAPHS, lang="en",
                                                    meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site)]})
    output = crawl(cli, config, browser, "--verbose")
    found = stories(cli, config)
    assert has_text(found["脚本写的文章"], ZH_PARAGRAPHS)
    assert has_text(found["Static story"], EN_PARAGRAPHS)
    assert by_chromium(site, "/news/2026/js.html") == [False, True]  # static, then the browser
    assert by_chromium(site, "/news/2026/static.html") == [False]
    assert site.requests_for("/big-picture.png") == []  # images are not loaded
    assert "empty app root" in output
    assert browser.launches == 1
    assert browser.gone_after_crawl()


def test_static_pages_never_start_the_browser(site, write_config, cli, browser):
    paths = ["/news/2026/zh.html", "/news/2026/en.html"]
    site.set("/ai/", listing_html(paths))
    site.set(paths[0], article_html("中文文章", ZH_PARAGRAPHS, meta_charset="utf-8"))
    site.set(paths[1], article_html("English story", EN_PARAGRAPHS, lang="en", meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site)]})  # render: auto (the default)
    crawl(cli, config, browser)
    assert set(stories(cli, config)) == {"中文文章", "English story"}
    for path in paths:
        assert len(site.requests_for(path)) == 1
    assert browser.launches == 0
    assert not browser.processes()


def test_render_never_skips_a_script_page_with_the_reason(site, write_config, cli, browser):
    site.set("/ai/", listing_html(["/news/2026/js.html", "/news/2026/static.html"]))
    site.set("/news/2026/js.html", script_page("脚本写的文章", ZH_PARAGRAPHS))
    site.set("/news/2026/static.html", article_html("静态文章", ZH_OTHER, meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site, render="never")]})
    output = crawl(cli, config, browser, "--verbose")
    assert set(stories(cli, config)) == {"静态文章"}
    assert "needs a browser (render: never)" in output
    assert by_chromium(site, "/news/2026/js.html") == [False]
    assert browser.launches == 0


def test_render_always_uses_the_browser_for_every_article(site, write_config, cli, browser):
    site.set("/ai/", listing_html(["/news/2026/static.html"]))
    site.set("/news/2026/static.html", article_html("静态文章", ZH_OTHER, meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site, render="always")]})
    crawl(cli, config, browser)
    assert has_text(stories(cli, config)["静态文章"], ZH_OTHER)
    assert by_chromium(site, "/news/2026/static.html") == [True]
    assert browser.gone_after_crawl()


class _AfterRenders:
    """A listing page the server sends only once Chromium has fetched ``count`` articles."""

    def __init__(self, site: LocalSite, count: int, links: list[str]):
        self.site, self.count = site, count
        self.body = listing_html(links).encode()
        self.status, self.content_type, self.headers, self.validators = 200, "text/html", {}, True
        self.ready = threading.Event()

    @property
    def delay(self) -> float:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            hits = [h for h in self.site.hits
                    if h.path.startswith("/news/") and "Chromium" in h.headers.get("sec-ch-ua", "")]
            if len(hits) >= self.count:
                self.ready.set()
                return 0.5  # the pipeline has counted the streak when it asked for the render
            time.sleep(0.05)
        return 0.0


def test_outlet_that_keeps_needing_the_browser_goes_straight_to_it(site, write_config, cli,
                                                                 browser):
    first = [f"/news/2026/js{i}.html" for i in range(3)]
    late = "/news/2026/late.html"
    site.set("/ai/", listing_html(first))
    for i, path in enumerate(first):
        paragraphs = [f"第{i}篇：{p}" for p in ZH_PARAGRAPHS]
        site.set(path, script_page(f"脚本文章{i}", paragraphs))
    site.set(late, script_page("后来的文章", ZH_OTHER,
                               root="<div id='content'>加载中…</div>"))
    gate = _AfterRenders(site, 3, [late])
    site.pages["/ai/more/"] = gate  # type: ignore[assignment]
    config = write_config({"outlets": [outlet(site, start_urls=[site.url + "/ai/",
                                                                site.url + "/ai/more/"])]})
    crawl(cli, config, browser)
    assert gate.ready.is_set()
    found = stories(cli, config)
    assert has_text(found["后来的文章"], ZH_OTHER)
    for path in first:
        assert by_chromium(site, path) == [False, True]
    assert by_chromium(site, late) == [True]  # one request, made by Chromium
    assert browser.gone_after_crawl()


def test_the_memory_of_needing_the_browser_is_kept_for_the_next_crawl(site, write_config, cli,
                                                                      browser):
    first = [f"/news/2026/js{i}.html" for i in range(3)]
    site.set("/ai/", listing_html(first))
    for i, path in enumerate(first):
        site.set(path, script_page(f"脚本文章{i}", [f"第{i}篇：{p}" for p in ZH_PARAGRAPHS]))
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config, browser)
    late = "/news/2026/late.html"  # a new article, seen by the next crawl only
    site.set("/ai/", listing_html([*first, late]))
    site.set(late, script_page("后来的文章", ZH_OTHER))
    crawl(cli, config, browser)
    assert has_text(stories(cli, config)["后来的文章"], ZH_OTHER)
    assert by_chromium(site, late) == [True]  # straight to the browser: no static fetch first
    assert browser.gone_after_crawl()


def test_hanging_pages_time_out_and_the_crawl_goes_on(site, write_config, cli, browser):
    busy = "/news/2026/busy.html"
    idle = "/news/2026/never-idle.html"
    good = "/news/2026/good.html"
    site.set("/ai/", listing_html([busy, idle, good]))
    site.set(busy, script_page("永不结束", ZH_PARAGRAPHS, delay_ms=0,
                               extra_script="while (true) {}"))
    site.set(idle, script_page("网络不空闲", ZH_OTHER, delay_ms=0,
                               extra_script="fetch('/slow-api');"))
    site.set("/slow-api", Page(body=b"{}", content_type="application/json", delay=25))
    site.set(good, script_page("正常文章", [f"另一篇：{p}" for p in ZH_PARAGRAPHS]))
    config = write_config({"outlets": [outlet(site)], "browser": {"timeout": 3}})
    output = crawl(cli, config, browser)
    found = stories(cli, config)
    assert "永不结束" not in found
    assert has_text(found["正常文章"], [f"另一篇：{p}" for p in ZH_PARAGRAPHS])
    assert has_text(found["网络不空闲"], ZH_OTHER)  # taken as it was when the wait ran out
    assert "busy.html" in output  # its error is reported
    assert browser.gone_after_crawl()


def test_missing_browser_is_one_line_and_the_crawl_goes_on(site, write_config, cli, tmp_path):
    missing = str(tmp_path / "no-such-chromium")
    site.set("/ai/", listing_html(["/news/2026/js.html", "/news/2026/static.html"]))
    site.set("/news/2026/js.html", script_page("脚本写的文章", ZH_PARAGRAPHS))
    site.set("/news/2026/static.html", article_html("静态文章", ZH_OTHER, meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site)]})
    output = crawl(cli, config, None, chromium=missing)
    assert set(stories(cli, config)) == {"静态文章"}
    assert any(f"no browser: {missing}" in line and "apt-get install chromium" in line
               and "NEWSWATCH_CHROMIUM" in line for line in output.splitlines())
    assert "Traceback" not in output
