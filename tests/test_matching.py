"""newswatch.matching.rules and matching.matcher: watch parsing, one-pass matching, snippets."""

from __future__ import annotations

import pytest
import yaml

from newswatch.matching import Matcher, Watch, WatchError, parse_watches


def matcher(*watches: dict) -> Matcher:
    return Matcher(parse_watches(list(watches)))


def names(found) -> list[str]:
    return [m.watch for m in found]


# --------------------------------------------------------------------------- rules


def test_parse_watches_from_yaml():
    config = yaml.safe_load(
        """
        - name: qwen
          terms: [通义千问, Qwen]
          all: [发布]
          exclude: [招聘]
          regex: ['qwen-?\\d']
          outlets: [jiqizhixin]
          notify: [ops-webhook]
          alert_on_first_crawl: true
        - name: gpt4
          terms: GPT-4
        """
    )
    qwen, gpt4 = parse_watches(config)
    assert qwen == Watch(
        name="qwen",
        terms=("通义千问", "Qwen"),
        all=("发布",),
        exclude=("招聘",),
        regex=("qwen-?\\d",),
        outlets=("jiqizhixin",),
        notify=("ops-webhook",),
        alert_on_first_crawl=True,
    )
    assert gpt4.terms == ("GPT-4",) and gpt4.alert_on_first_crawl is False
    assert parse_watches(None) == []


def test_bad_regex_names_watch_key_and_regex():
    with pytest.raises(WatchError) as err:
        parse_watches(
            [
                {"name": "a", "terms": ["x"]},
                {"name": "b", "terms": ["y"]},
                {"name": "gpt", "regex": ["GPT-("]},
            ]
        )
    message = str(err.value)
    assert message.startswith("watches[2].regex[0]: bad regex 'GPT-('")
    assert "'gpt'" in message and "missing ), unterminated subpattern" in message
    assert "\n" not in message


def test_bad_regex_on_a_watch_built_in_code():
    with pytest.raises(WatchError, match=r"^watch 'w'\.regex\[0\]: bad regex '\[': "):
        Watch(name="w", regex=("[",))


def test_unknown_key_rejected_with_hint():
    with pytest.raises(WatchError) as err:
        parse_watches([{"name": "a", "term": ["x"]}])
    assert str(err.value).startswith("watches[0]: unknown key 'term', did you mean 'terms'?")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([{"terms": ["x"]}], "watches[0].name: required"),
        ([{"name": "a"}], "watches[0]: needs at least one of terms, regex, all, entities"),
        ([{"name": "a", "terms": [1984]}], "watches[0].terms[0]: expected a string, got int 1984"),
        ([{"name": "a", "terms": ["x", " "]}], "watches[0].terms[1]: empty string"),
        (
            [{"name": "a", "terms": ["x"], "alert_on_first_crawl": "yes"}],
            "watches[0].alert_on_first_crawl: expected true or false",
        ),
        (
            [{"name": "a", "terms": ["x"]}, {"name": "a", "terms": ["y"]}],
            "watches[1].name: duplicate watch name 'a'",
        ),
        ([{"name": "a", "regex": ["x*"]}], "watches[0].regex[0]: regex 'x*' in watch 'a' matches"),
        ({"name": "a"}, "watches: expected a list of watches"),
        (["a"], "watches[0]: expected a mapping"),
    ],
)
def test_parse_errors_name_the_key(raw, message):
    with pytest.raises(WatchError) as err:
        parse_watches(raw)
    assert str(err.value).startswith(message)


# --------------------------------------------------------------------------- folding


def test_fullwidth_and_case_insensitive():
    m = matcher({"name": "gpt4", "terms": ["gpt-4"]}, {"name": "fw", "terms": ["ＯｐｅｎＡＩ"]})
    assert names(m.match("", "新的ＧＰＴ－４来了")) == ["gpt4"]
    assert names(m.match("", "OPENAI 发布")) == ["fw"]


def test_traditional_config_finds_simplified_text_and_back():
    m = matcher({"name": "trad", "terms": ["通義千問"]}, {"name": "simp", "terms": ["数字人"]})
    assert names(m.match("", "阿里发布通义千问2.5")) == ["trad"]
    assert names(m.match("", "虛擬數字人主播上線")) == ["simp"]
    assert m.match("", "通義千問與數字人")[0].terms == ("通義千問",)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("GPT-4 发布", True),
        ("用GPT-4写代码", True),
        ("(GPT-4), and", True),
        ("the GPT-4.", True),
        ("GPT-4 Turbo", True),
        ("GPT-40 is not a model", False),
        ("XGPT-4 neither", False),
        ("GPT-4o is a different model", False),
        ("gpt-4é", False),
        ("GPT-4_x", True),
    ],
)
def test_latin_terms_match_on_word_boundaries(text, hit):
    m = matcher({"name": "gpt4", "terms": ["GPT-4"]})
    assert bool(m.match("", text)) is hit


def test_boundary_checked_past_a_rejected_first_occurrence():
    m = matcher({"name": "gpt4", "terms": ["GPT-4"]})
    found = m.match("", "GPT-40 first, then GPT-4 itself")
    assert found and found[0].first_offset == 19


def test_cjk_terms_match_anywhere():
    m = matcher({"name": "llm", "terms": ["大模型"]})
    assert names(m.match("", "多模态大模型的进展")) == ["llm"]
    assert names(m.match("", "大模型")) == ["llm"]


def test_mixed_term_checks_latin_end_only():
    m = matcher({"name": "mixed", "terms": ["GPT-4模型"]})
    assert names(m.match("", "新的GPT-4模型发布")) == ["mixed"]
    assert names(m.match("", "XGPT-4模型")) == []


def test_overlapping_terms_all_found():
    m = matcher(
        {"name": "a", "terms": ["模型"]},
        {"name": "b", "terms": ["大模型"]},
        {"name": "c", "terms": ["GPT"]},
        {"name": "d", "terms": ["GPT-4"]},
    )
    assert names(m.match("", "大模型 GPT-4")) == ["a", "b", "c", "d"]  # "-" is a boundary
    assert names(m.match("", "GPTs")) == []


# --------------------------------------------------------------------------- rules in use


def test_all_exclude_regex_outlets():
    m = matcher(
        {"name": "all", "terms": ["OpenAI"], "all": ["发布", "模型"]},
        {"name": "excl", "terms": ["OpenAI"], "exclude": ["招聘"]},
        {"name": "re", "regex": [r"gpt-?5\b"]},
        {"name": "only-all", "all": ["OpenAI", "模型"]},
        {"name": "lim", "terms": ["OpenAI"], "outlets": ["QbitAI"]},
    )
    text = "OpenAI 发布了新模型 GPT5。"
    assert names(m.match("", text, outlet="36kr")) == ["all", "excl", "re", "only-all"]
    assert names(m.match("", text, outlet="qbitai")) == ["all", "excl", "re", "only-all", "lim"]
    assert names(m.match("", text)) == ["all", "excl", "re", "only-all", "lim"]
    assert names(m.match("", "OpenAI 招聘 模型", outlet="36kr")) == ["only-all"]
    assert names(m.match("", "OpenAI 模型", outlet="36kr")) == ["excl", "only-all"]
    assert m.match("", text)[3].terms == ("OpenAI", "模型")


def test_exclude_uses_word_boundaries_too():
    m = matcher({"name": "w", "terms": ["模型"], "exclude": ["AD"]})
    assert names(m.match("", "模型 ADVANCED")) == ["w"]
    assert names(m.match("", "模型 AD")) == []


def test_regex_runs_on_folded_text_and_traditional_pattern():
    m = matcher({"name": "re", "regex": [r"通義千問\s*\d"]})
    found = m.match("", "全新通义千问 3 发布")
    assert names(found) == ["re"] and found[0].terms == (r"通義千問\s*\d",)
    assert names(matcher({"name": "fw", "regex": ["gpt-4"]}).match("", "ＧＰＴ－４")) == ["fw"]


def test_title_hits_count():
    m = matcher({"name": "gpt4", "terms": ["GPT-4"]}, {"name": "re", "regex": ["sora"]})
    found = m.match("GPT-4 and Sora", "正文没有提到。")
    assert names(found) == ["gpt4", "re"]
    assert found[0].first_offset is None and found[0].field == "title"
    assert found[0].snippet == "正文没有提到。"


def test_terms_reported_in_config_spelling_and_order():
    m = matcher({"name": "w", "terms": ["Sora", "ＧＰＴ－４", "數字人", "absent"]})
    (found,) = m.match("", "数字人 and gpt-4 and SORA")
    assert found.terms == ("Sora", "ＧＰＴ－４", "數字人")
    assert found.first_offset == 0


# --------------------------------------------------------------------------- snippets


def test_snippet_cut_from_original_text():
    text = "甲" * 100 + "新的ＧＰＴ－４模型……" + "乙" * 100
    (found,) = matcher({"name": "w", "terms": ["gpt-4"]}).match("", text)
    assert found.first_offset == 102
    assert text[found.first_offset :].startswith("ＧＰＴ－４")
    assert found.snippet.startswith("…") and found.snippet.endswith("…")
    assert "新的ＧＰＴ－４模型……" in found.snippet
    assert found.snippet.count("甲") == 60 - 2
    assert found.snippet.count("乙") == 60 - len("模型……")


def test_snippet_offsets_survive_length_changing_folds():
    # "…" folds to "...", "ﬁ" to "fi", "ß" to "ss": folded offsets differ from original ones.
    text = "ﬁrst…… ß " * 20 + "然后數字人登场" + " end"
    (found,) = matcher({"name": "w", "terms": ["数字人"]}).match("", text)
    assert text[found.first_offset :].startswith("數字人")
    assert "然后數字人登场 end" in found.snippet and not found.snippet.endswith("…")


def test_snippet_whitespace_collapsed_and_short_text_whole():
    (found,) = matcher({"name": "w", "terms": ["Sora"]}).match("", "Line one.\n\n  Sora   here.")
    assert found.snippet == "Line one. Sora here."


def test_many_watches_one_pass():
    watches = [{"name": f"w{i}", "terms": [f"term{i}", f"词{i}号"]} for i in range(500)]
    m = matcher(*watches)
    assert m.key_count == 1000
    found = m.match("", "about term7 and 词42号 but not term77x")
    assert names(found) == ["w7", "w42"]


def test_empty_inputs():
    m = matcher({"name": "w", "terms": ["x"]})
    assert m.match("", "") == []
    assert m.match(None, None) == []  # type: ignore[arg-type]
    assert Matcher([]).match("t", "x") == []
