"""Fingerprints without a database: significant form, SimHash range, near-duplicate distances."""

from newswatch.storage.fingerprint import (
    NEAR_DUPLICATE_DISTANCE,
    bands,
    distance,
    fingerprint,
    overlap,
    shingles,
    significant,
    simhash,
    to_signed,
    to_unsigned,
)
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN

SOURCE_LINE = "来源：新华社\n"
DISCLAIMER = "\n免责声明：本文仅代表作者本人观点，与本网站无关，如有侵权请联系删除。"


def test_significant_drops_whitespace_and_punctuation() -> None:
    assert significant("Hello, World!  你好，世界。\n“引号”—") == "HelloWorld你好世界引号"
    assert significant(ARTICLE_A) == significant(ARTICLE_A.replace("，", ",").replace("\n", " "))


def test_simhash_is_signed_int64_and_bands_cover_it() -> None:
    for text in (ARTICLE_A, ARTICLE_B, ARTICLE_EN, "", "短"):
        value = simhash(text)
        assert -(2**63) <= value < 2**63
        assert to_signed(to_unsigned(value)) == value
        parts = bands(value)
        assert len(parts) == 4 and all(0 <= p < 2**16 for p in parts)
        assert sum(p << (16 * i) for i, p in enumerate(parts)) == to_unsigned(value)


def test_reprint_lines_stay_within_the_near_duplicate_distance() -> None:
    a = simhash(ARTICLE_A)
    for copy in (
        SOURCE_LINE + ARTICLE_A,
        "本文转载自机器之心，版权归原作者所有。\n" + ARTICLE_A,
        ARTICLE_A + DISCLAIMER,
        ARTICLE_A + "\n(责任编辑:张三)",
    ):
        assert distance(a, simhash(copy)) <= NEAR_DUPLICATE_DISTANCE


def test_different_stories_on_the_same_topic_are_far_apart() -> None:
    assert distance(simhash(ARTICLE_A), simhash(ARTICLE_B)) > 3 * NEAR_DUPLICATE_DISTANCE
    assert overlap(shingles(ARTICLE_A), shingles(ARTICLE_B)) < 0.1


def test_paragraph_starting_with_a_credit_word_is_body_not_boilerplate() -> None:
    body = "记者从工信部获悉，" + "今年将推动人工智能在制造业中的应用并发布一批标准。" * 3
    text = ARTICLE_A + "\n" + body
    assert overlap(shingles(text), shingles(ARTICLE_A)) < 0.95  # the paragraph was kept


def test_short_texts_get_no_index_keys() -> None:
    assert fingerprint("网站维护中").keys == ()
    assert len(fingerprint(ARTICLE_A).keys) == 6
