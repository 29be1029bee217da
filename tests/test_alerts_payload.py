"""Payload shape, renderings, and the receiver example in docs/alerts.md (run for real)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newswatch.alerts.channels import DeliveryError, parse_channels
from newswatch.alerts.payload import build_payload, excerpt, render_html, render_text, subject
from tests.receivers import free_port

DOC = Path(__file__).resolve().parents[1] / "docs" / "alerts.md"


def test_payload_shape_new_and_updated():
    cst = timezone(timedelta(hours=8))
    p = build_payload(event="new", watch="w", terms=["大模型", "大模型", "AI"], story_id=5,
                      title="标题", url="https://a/1", urls=["https://b/2", "https://a/1"],
                      outlets=["a", "b", "a"], published=datetime(2025, 3, 1, 16, 0, tzinfo=cst),
                      first_seen=datetime(2025, 3, 1, 8, 5), text="正文")
    assert p == {
        "event": "new", "watch": "w", "terms": ["大模型", "AI"],
        "story": {"id": 5, "title": "标题", "url": "https://a/1",
                  "urls": ["https://a/1", "https://b/2"], "outlets": ["a", "b"],
                  "published": "2025-03-01T08:00:00Z", "first_seen": "2025-03-01T08:05:00Z",
                  "excerpt": "正文"},
        "news_event": None, "already_alerted": [], "entities": [],
        "alert_id": None, "alert_uid": None,
    }
    u = build_payload(event="updated", watch="w", terms=["AI"], story_id=5, title="t",
                      url="https://a/1", diff=[{"op": "added", "old": None, "new": "AI 来了。"}])
    assert u["diff"] == [{"op": "added", "old": None, "new": "AI 来了。"}]
    with pytest.raises(ValueError, match="^diff: required"):
        build_payload(event="updated", watch="w", terms=[], story_id=1, title="t", url="u")
    with pytest.raises(ValueError, match="^event: expected"):
        build_payload(event="gone", watch="w", terms=[], story_id=1, title="t", url="u")


def test_excerpt_centres_on_first_term():
    text = "甲" * 500 + "DeepSeek 发布新模型" + "乙" * 500
    ex = excerpt(text, ["deepseek"], width=100)
    assert "DeepSeek" in ex and ex.startswith("…") and ex.endswith("…")
    assert len(ex) == 102
    assert excerpt("short  text\n here", ["x"]) == "short text here"
    assert excerpt("x" * 300, ["nothing"], width=50) == "x" * 50 + "…"


def test_renderings_escape_and_agree():
    p = build_payload(event="updated", watch="w<1>", terms=["AI"], story_id=1,
                      title="<script>alert(1)</script> AI", url="https://a/?x=1&y=2",
                      urls=["https://b/2"], outlets=["a"], text="AI text",
                      diff=[{"op": "edited", "old": "old AI", "new": "new <b>AI</b>"}], alert_id=9)
    assert subject(p) == "[newswatch] w<1>: <script>alert(1)</script> AI"
    html = render_html(p)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="https://a/?x=1&amp;y=2"' in html and "<del>old AI</del>" in html
    text = render_text(p)
    assert "  - old AI\n  + new <b>AI</b>" in text and "https://b/2" in text
    assert "alert #9" in text and "alert #9" in html
    long = dict(p, story=dict(p["story"], title="长" * 300))
    assert len(subject(long)) < 160


def _doc_snippet() -> str:
    block = re.search(r"### Signature.*?```python\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block, "docs/alerts.md lost its receiver example"
    return block.group(1)


def test_docs_receiver_example_verifies_signature(tmp_path):
    port = free_port()
    env = dict(os.environ, PORT=str(port), NEWSWATCH_HOOK_SECRET="doc-secret-1")
    proc = subprocess.Popen([sys.executable, "-c", _doc_snippet()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # wait until it listens (readiness, not a timing assertion)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/hook"
        p = build_payload(event="new", watch="w", terms=["AI"], story_id=1, title="大模型 AI",
                          url="https://a/1", first_seen=datetime.now(UTC), alert_id=1)
        parse_channels({"h": {"webhook": url, "secret": "doc-secret-1"}})["h"].send(p)
        with pytest.raises(DeliveryError, match="HTTP 401"):
            parse_channels({"h": {"webhook": url, "secret": "not-the-secret"}})["h"].send(p)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.splitlines() == ["大模型 AI"]
