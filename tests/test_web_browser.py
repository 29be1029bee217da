"""The dashboard in real headless Chromium (Playwright driving Debian's browser): a person opens
the stories, filters by a watch, searches a Chinese word, opens a story and reads its diff,
follows the Atom link; a story whose title, text and URL carry script payloads shows them as
text and runs nothing (no dialog, no console error, no script element); on a phone-sized
screen nothing spills sideways. Screenshots land in the test's temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from newswatch.crawler.chromium import chromium_path, missing_browser
from tests.web_fixtures import HOSTILE_TITLE, Dashboard

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM = chromium_path()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_browser(CHROMIUM) is not None,
                       reason=missing_browser(CHROMIUM) or ""),
]


class Watched:
    """A page with every dialog, console message and page error it produced."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def clean(self) -> bool:
        return not (self.dialogs or self.errors or self.console)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def rows(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("table.stories td.title").all_inner_texts()]


def test_a_reader_filters_searches_reads_a_diff_and_follows_the_feed(
        dashboard: Dashboard, browser: Any, tmp_path: Path) -> None:
    page = Watched(browser.new_page(viewport={"width": 1280, "height": 900}))
    p = page.page
    p.goto(dashboard.url + "/")
    assert len(rows(p)) == 4
    p.select_option("select[name=watch]", "digital")
    with p.expect_navigation():
        p.click("form.filters button[type=submit]")
    assert rows(p) == ["數字人主播連播九小時"]
    p.goto(dashboard.url + "/")
    p.fill("input[name=q]", "数字人")  # simplified; the page is in traditional characters
    with p.expect_navigation():
        p.press("input[name=q]", "Enter")
    assert rows(p) == ["數字人主播連播九小時"]
    assert "q=%E6%95%B0%E5%AD%97%E4%BA%BA" in p.url
    p.screenshot(path=str(tmp_path / "stories.png"), full_page=True)

    with p.expect_navigation():
        p.click("table.stories td.title a")
    assert p.locator("h1").inner_text() == "數字人主播連播九小時"
    latest = p.locator("section.revision").first
    assert latest.locator("h3").inner_text().startswith("Revision 2")
    assert latest.locator(".diff ins").all_inner_texts() == ["九", "五"]
    assert latest.locator(".diff del").all_inner_texts() == ["七", "三"]
    assert latest.locator(".title-diff ins").all_inner_texts() == ["九"]
    p.screenshot(path=str(tmp_path / "story.png"), full_page=True)

    p.goto(dashboard.url + "/?watch=digital")
    href = p.get_attribute("a.feedlink", "href")
    assert href == "/feeds/watch/digital.atom"
    assert p.get_attribute("link[rel=alternate]", "href") == href
    feed = p.request.get(dashboard.url + href)
    assert feed.ok and feed.headers["content-type"].startswith("application/atom+xml")
    entries = feedparser.parse(feed.body()).entries
    assert [e.title for e in entries] == ["數字人主播連播九小時"]
    assert page.clean(), (page.dialogs, page.errors, page.console)
    assert (tmp_path / "story.png").stat().st_size > 10_000


def test_scraped_markup_is_shown_as_text_and_runs_nothing(dashboard: Dashboard, browser: Any,
                                                         tmp_path: Path) -> None:
    page = Watched(browser.new_page())
    p = page.page
    for path in ("/", f"/stories/{dashboard.ids['hostile']}", "/alerts", "/watches",
                 "/?q=模型"):
        response = p.goto(dashboard.url + path)
        assert response.ok, path
        p.wait_for_load_state("load")
        assert p.evaluate("document.scripts.length") == 0, path
        assert p.evaluate("document.querySelectorAll('[onerror],[onload],svg,img').length") == 0
        assert p.evaluate("[...document.querySelectorAll('a')].filter("
                          "a => a.href.startsWith('javascript:')).length") == 0, path
    p.goto(dashboard.url + f"/stories/{dashboard.ids['hostile']}")
    assert p.locator("h1").inner_text() == HOSTILE_TITLE  # shown, as text
    assert "<script>alert(document.cookie)</script>" in p.locator(".text").first.inner_text()
    assert p.locator("td.url").inner_text() == "javascript:alert('url')"  # not a link
    p.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    assert page.clean(), (page.dialogs, page.errors, page.console)


def test_pages_fit_a_phone_screen(dashboard: Dashboard, browser: Any, tmp_path: Path) -> None:
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                             is_mobile=True)
    for path in ("/", f"/stories/{dashboard.ids['zh']}", "/outlets", "/alerts", "/watches"):
        phone.goto(dashboard.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    phone.goto(dashboard.url + "/")
    phone.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert os.path.getsize(tmp_path / "phone.png") > 10_000
