"""newswatch.matching.diff: sentence splitting, sentence diffs, changed sentences, trivial changes."""

from __future__ import annotations

import pytest

from newswatch.matching.diff import (
    changed_sentences,
    is_trivial_change,
    sentence_diff,
    split_sentences,
)

OLD = (
    "今天，OpenAI发布了GPT-5。它支持多模态输入。价格为每百万token 10美元。"
    "团队表示将持续改进。更多细节见官网。"
)
NEW = (
    "今天，OpenAI发布了GPT-5。它支持多模态输入和视频生成！价格为每百万token 10美元。"
    "团队表示将持续改进。更多细节见官网。另外，Sora也将更新……"
)


def test_split_chinese_sentences():
    text = "他说：“好。”然后走了！真的吗？是的……\n第二行；没有句号"
    assert split_sentences(text) == [
        "他说：“好。”",
        "然后走了！",
        "真的吗？",
        "是的……",
        "第二行；",
        "没有句号",
    ]


def test_split_after_nfkc_ascii_marks_in_chinese():
    # extraction NFKC-normalises text: ！？； become ASCII, … becomes "...".
    assert split_sentences("真的吗?是的!发布了...然后;最后") == [
        "真的吗?",
        "是的!",
        "发布了...",
        "然后;",
        "最后",
    ]


def test_split_english_sentences():
    text = "Hello world. Is it? Yes!! Mr. Smith paid $3.14 for GPT-4.5 at example.com. J. K. Rowling wrote."
    assert split_sentences(text) == [
        "Hello world.",
        "Is it?",
        "Yes!!",
        "Mr. Smith paid $3.14 for GPT-4.5 at example.com.",
        "J. K. Rowling wrote.",
    ]


def test_split_drops_blank_lines():
    assert split_sentences("\n\n  一。\n\n二\n") == ["一。", "二"]
    assert split_sentences("") == []


def test_chinese_sentence_diff():
    assert sentence_diff(OLD, NEW) == "\n".join(
        [
            "@@ -1,5 +1,6 @@",
            "  今天，OpenAI发布了GPT-5。",
            "- 它支持多模态输入。",
            "+ 它支持多模态输入和视频生成！",
            "  价格为每百万token 10美元。",
            "  团队表示将持续改进。",
            "  更多细节见官网。",
            "+ 另外，Sora也将更新……",
        ]
    )


def test_sentence_diff_hunks_and_context():
    old = "".join(f"第{i}句。" for i in range(1, 21))
    new = old.replace("第3句。", "第三句。").replace("第18句。", "")
    assert sentence_diff(old, new, context=1).splitlines() == [
        "@@ -2,3 +2,3 @@",
        "  第2句。",
        "- 第3句。",
        "+ 第三句。",
        "  第4句。",
        "@@ -17,3 +17,2 @@",
        "  第17句。",
        "- 第18句。",
        "  第19句。",
    ]


def test_sentence_diff_empty_when_same():
    assert sentence_diff(OLD, OLD) == ""
    assert sentence_diff(OLD, OLD.replace("。", "。\n")) == ""


def test_changed_sentences():
    assert changed_sentences(OLD, NEW) == ["它支持多模态输入和视频生成！", "另外，Sora也将更新……"]
    assert changed_sentences(NEW, OLD) == ["它支持多模态输入。"]
    assert changed_sentences(OLD, OLD) == []


def test_changed_sentences_ignore_moves_and_punctuation_edits():
    old = "第一句。第二句，很长。第三句。"
    new = "第三句。第二句, 很长!第一句。新的一句。"
    assert changed_sentences(old, new) == ["新的一句。"]


@pytest.mark.parametrize(
    ("old", "new", "trivial"),
    [
        ("你好，世界。", "你好, 世界.", True),
        ("你好，世界。", "你好世界", True),
        ("a  b\n", "a b", True),
        ("Hello, world!", "Hello world", True),
        ("“引号”", '"引号"', True),
        ("全角　空格", "全角 空格", True),
        ("GPT-4", "GPT4", True),
        ("价格10美元", "价格12美元", False),
        ("你好", "您好", False),
        ("数字人", "數字人", False),
    ],
)
def test_is_trivial_change(old, new, trivial):
    assert is_trivial_change(old, new) is trivial
