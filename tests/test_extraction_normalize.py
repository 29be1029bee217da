"""normalize_text (extraction's stored form) and the content hash over it (newswatch.text)."""

from __future__ import annotations

import hashlib

from newswatch.extraction.normalize import normalize_text
from newswatch.text import content_hash


def test_normalize_rules():
    raw = "  Ｇｐｔ－４\u200b 发布  \t了 \r\n\n\n\u3000第二段\u00a0 文字  \n\n"
    assert normalize_text(raw) == "Gpt-4 发布 了\n第二段 文字"


def test_normalize_empty():
    assert normalize_text("") == "" and normalize_text(" \n\t\n") == ""


def test_hash_is_sha256_of_normalised_text():
    assert content_hash("a  b\n\n c") == hashlib.sha256(b"a b\nc").hexdigest()
    assert content_hash("ａ b") == content_hash("a\u200b b ")
    assert content_hash("a b") != content_hash("a c")
