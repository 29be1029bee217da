"""The kernel's text forms: comparison form, content hash, the one trivial-change rule, and the
one boilerplate-line list."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from newswatch.boilerplate import is_boilerplate_line
from newswatch.extraction.normalize import normalize_text
from newswatch.matching.diff import is_trivial_change as matching_trivial
from newswatch.storage.fingerprint import fingerprint
from newswatch.text import change_key, comparison_form, content_hash, is_trivial_change

PAGE = "  ＧＰＴ－４o 发布\u200b了 ， 价格 $5 。\r\n\n\u3000第二段\u00a0 文字  \n"


def test_stored_text_keeps_its_hash() -> None:
    """Text stored so far is normalize_text's output: its hash is the plain sha256 of it."""
    stored = normalize_text(PAGE)
    assert comparison_form(stored) == stored
    assert content_hash(stored) == hashlib.sha256(stored.encode("utf-8")).hexdigest()


def test_the_hash_does_not_depend_on_the_unicode_form_stored() -> None:
    without_nfkc = " ".join(PAGE.split())  # whitespace folded, full-width forms kept
    assert unicodedata.normalize("NFKC", without_nfkc) != without_nfkc
    assert content_hash(without_nfkc) == content_hash(normalize_text(PAGE).replace("\n", " "))
    assert fingerprint(PAGE).content_hash == content_hash(normalize_text(PAGE))


@pytest.mark.parametrize(("old", "new", "trivial"), [
    ("价格 $5", "价格 €5", False),  # a symbol is content
    ("1 + 1", "1 - 1", False),
    ("Hello, World!", "hello world", True),  # case and punctuation are not
    ("GPT-4 发布。", "GPT4 发布", True),
    ("ＧＰＴ４", "GPT4", True),  # full-width forms are layout
    ("a  b\n c", "a b c", True),
    ("数字人", "數字人", False),
])
def test_one_trivial_change_rule_for_storage_and_matching(old, new, trivial) -> None:
    assert is_trivial_change(old, new) is trivial
    assert matching_trivial(old, new) is trivial
    assert (fingerprint(old).change_key == fingerprint(new).change_key) is trivial
    assert (change_key(old) == change_key(new)) is trivial


@pytest.mark.parametrize(("line", "boilerplate"), [
    ("来源：新华社", True),
    ("(责任编辑:张三)", True),
    ("免责声明：本文仅代表作者本人观点。", True),
    ("分享到：", True),
    ("Copyright 2026 Example Media. All rights reserved.", True),
    ("记者：请问这款模型和上一代相比，最大的变化是什么？", False),  # an interview question
    ("记者从工信部获悉，今年将推动人工智能在制造业中的应用。", False),
    ("来源：" + "很长的正文" * 30, False),  # long lines are story text
])
def test_one_boilerplate_list(line, boilerplate) -> None:
    assert is_boilerplate_line(line) is boilerplate


def test_fold_whitespace_fast_path_changes_nothing_it_should_fold() -> None:
    """Stored text is returned as is (cheap check); anything else goes through the full fold."""
    import random

    from newswatch.text import fold_whitespace

    def folded_the_long_way(text: str) -> str:
        text = "".join(c for c in text if c not in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (" ".join(line.replace("\u3000", " ").replace("\u00a0", " ").split(" ")).split()
                 for line in text.split("\n"))
        return "\n".join(" ".join(words) for words in lines if words)

    alphabet = ["a", "b", " ", "\n", "\t", "\u200b", "\r", "\u3000", "\u00a0", "你"]
    rng = random.Random(8)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        assert fold_whitespace(text) == folded_the_long_way(text), repr(text)
        assert fold_whitespace(fold_whitespace(text)) == fold_whitespace(text)
