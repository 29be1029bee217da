"""The render decision without a browser: per-outlet memory, what needs rendering, blocked
hosts, which Chromium."""

from __future__ import annotations

from dataclasses import dataclass

from newswatch.config import DEFAULT_CHROMIUM, Browser, Outlet
from newswatch.crawler import chromium, render


@dataclass
class Art:
    skip_reason: str | None = None
    needs_browser: str | None = None


def test_memory_goes_browser_first_after_a_streak_and_probes_statically():
    memory = render.RenderMemory()
    for _ in range(render.STREAK - 1):
        memory.needed_browser()
        assert not memory.straight_to_browser()
    memory.needed_browser()
    assert memory.changed
    choices = [memory.straight_to_browser() for _ in range(2 * render.PROBE_EVERY)]
    assert choices.count(False) == 2  # every PROBE_EVERY-th article is a static probe
    memory.static_worked()
    assert not memory.browser_first and not memory.straight_to_browser()


def test_a_static_success_breaks_the_streak():
    memory = render.RenderMemory()
    memory.needed_browser()
    memory.needed_browser()
    memory.static_worked()
    memory.needed_browser()
    assert not memory.browser_first and not memory.changed


def test_what_needs_rendering():
    assert render.needs_rendering(Art(needs_browser="empty app root #app")) == "empty app root #app"
    for reason in ("empty", "loading notice", "too short"):
        assert render.needs_rendering(Art(skip_reason=reason)) == reason
    assert render.needs_rendering(Art(skip_reason="not html")) is None
    assert render.needs_rendering(Art()) is None


def test_same_site():
    assert chromium.same_site("api.example.com.cn", "www.example.com.cn")
    assert chromium.same_site("static.36kr.com", "36kr.com")
    assert not chromium.same_site("cdn.other.com", "www.example.com")
    assert not chromium.same_site("example.com.cn", "other.com.cn")
    assert not chromium.same_site("127.0.0.2", "127.0.0.1")
    assert chromium.same_site(None, "www.example.com")


def test_browser_meta_carries_the_wait_and_timeout():
    meta = render.browser_meta(Outlet(name="x", wait_for="article p"), Browser(timeout=7))
    assert meta[render.BROWSER] is True
    assert meta[render.SETTLE] == ("article p", 7000)
    assert meta["playwright_page_goto_kwargs"]["timeout"] == 7000


def test_chromium_path_and_missing_browser(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_CHROMIUM", raising=False)
    assert chromium.chromium_path(Browser(chromium="/opt/c")) == "/opt/c"
    monkeypatch.setenv("NEWSWATCH_CHROMIUM", "/env/c")
    assert chromium.chromium_path(Browser(chromium="/opt/c")) == "/env/c"
    message = chromium.missing_browser(str(tmp_path / "nope"))
    assert message and "apt-get install chromium" in message and "NEWSWATCH_CHROMIUM" in message


def test_default_chromium_prefers_the_headless_shell(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_CHROMIUM", raising=False)
    shell = tmp_path / "chromium-headless-shell"
    monkeypatch.setattr(chromium, "HEADLESS_SHELL", str(shell))
    assert chromium.chromium_path(Browser()) == DEFAULT_CHROMIUM  # not installed
    shell.write_text("#!/bin/sh\n")
    shell.chmod(0o755)
    assert chromium.chromium_path(Browser()) == str(shell)
    assert chromium.chromium_path(Browser(chromium="/opt/c")) == "/opt/c"  # configured: kept
