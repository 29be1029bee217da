"""newswatch.fold: NFKC, case, traditional -> simplified, and the offset map back."""

from __future__ import annotations

import random
import unicodedata

import opencc
import pytest

from newswatch.fold import fold, fold_with_map, to_original


def test_fullwidth_and_case():
    assert fold("ＧＰＴ－４") == "gpt-4"
    assert fold("OpenAI") == fold("openai") == fold("ＯＰＥＮＡＩ")
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("數字人", "数字人"),
        ("通義千問", "通义千问"),
        ("人工智慧", "人工智慧"),
        ("機器學習", "机器学习"),
    ],
)
def test_traditional_folds_to_simplified(traditional, simplified):
    assert fold(traditional) == fold(simplified) == simplified


def test_character_level_not_phrase_level():
    # OpenCC's phrase table turns 憑藉 into 凭借 but leaves 藉 alone: character level keeps
    # fold(term) a substring of fold(text) whenever term is a substring of text.
    assert fold("憑藉") == "凭藉"
    assert fold("藉") in fold("憑藉口")


def test_length_kept_for_every_t2s_mapping():
    # Every CJK code point folds to exactly one code point (no phrase changes the length).
    chars = "".join(chr(c) for c in range(0x4E00, 0xA000))
    assert len(fold(chars)) == len(chars)


def test_same_result_as_whole_string_pipeline():
    conv = opencc.OpenCC("t2s")
    text = "今天，ＯｐｅｎＡＩ發布了新模型……價格½，ﬁne Straße。"
    expected_nfkc = unicodedata.normalize("NFKC", text).casefold()
    folded = fold(text)
    assert len(folded) == len(expected_nfkc)
    assert conv.convert(folded) == conv.convert(expected_nfkc)


def test_map_is_none_when_lengths_kept():
    folded, offsets = fold_with_map("通義千問，ＧＰＴ－４")
    assert folded == "通义千问,gpt-4"
    assert offsets is None
    assert fold_with_map("Plain ASCII")[1] is None


def test_map_points_back_into_the_original():
    text = "他说……然后ＧＰＴ－４，ﬁne ß 數字人"
    folded, offsets = fold_with_map(text)
    assert folded == fold(text)
    assert offsets is not None
    for needle, original in (("gpt-4", "ＧＰＴ－４"), ("数字人", "數字人"), ("然后", "然后")):
        at = folded.index(needle)
        assert text[to_original(offsets, at) :].startswith(original)
    assert to_original(offsets, len(folded)) == len(text)


def test_map_fuzz_monotonic_and_consistent():
    rng = random.Random(5)
    pool = list("abcXYZ ß…ﬁ㈱½é\u0301한\u1100\u1161\u11a8通義千問，。ＡＢ１İｶﾞ")
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 200)))
        folded, offsets = fold_with_map(text)
        assert folded == fold(text)
        back = [to_original(offsets, i) for i in range(len(folded) + 1)]
        assert back == sorted(back)
        assert all(0 <= b <= len(text) for b in back)
        assert back[-1] == len(text)
