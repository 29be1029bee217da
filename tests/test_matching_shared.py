"""Matcher results that share work between watches (one regex search, one snippet) stay per-watch."""

from __future__ import annotations

from newswatch.matching.matcher import Match, Matcher
from newswatch.matching.rules import Watch


def test_watches_sharing_a_regex_and_terms_get_their_own_matches():
    watches = [
        Watch("a", terms=("GPT-4", "gpt-4", "GPT-4"), regex=(r"gpt-?\d+",)),
        Watch("b", regex=(r"gpt-?\d+",), outlets=("qbitai",)),
        Watch("c", terms=("模型",), regex=(r"gpt-?\d+",)),
        Watch("d", all=("模型", "发布")),
        Watch("e", terms=("模型",), exclude=("广告",)),
    ]
    matcher = Matcher(watches)
    text = "新模型发布：GPT-4 的继任者。"
    got = matcher.match("GPT-5 来了", text, "QbitAI")
    assert [m.watch for m in got] == ["a", "b", "c", "d", "e"]
    a, b, c, d, e = got
    assert a.terms == ("GPT-4", "gpt-4", r"gpt-?\d+")  # repeated spelling reported once
    assert a.first_offset == text.index("GPT-4") and a.field == "text"
    assert b == Match("b", (r"gpt-?\d+",), b.snippet, text.index("GPT-4"), "text")
    assert c.terms == ("模型", r"gpt-?\d+") and c.first_offset == text.index("模型")
    assert d.terms == ("模型", "发布") and d.first_offset == text.index("模型")
    assert e.snippet == c.snippet and e.first_offset == c.first_offset
    assert hash(a) == hash(Match(*(getattr(a, f) for f in Match.__dataclass_fields__)))
    assert matcher.match("GPT-5 来了", text, "other")[1].watch == "c"  # outlet limit


def test_regex_hit_in_title_only_reports_the_title():
    matcher = Matcher([Watch("a", regex=(r"gpt-?\d+",)), Watch("b", regex=(r"gpt-?\d+",))])
    got = matcher.match("GPT-5 来了", "正文没有提到。")
    assert [(m.watch, m.terms, m.first_offset, m.field) for m in got] == [
        ("a", (r"gpt-?\d+",), None, "title"),
        ("b", (r"gpt-?\d+",), None, "title"),
    ]
    assert got[0].snippet == got[1].snippet == "正文没有提到。"
