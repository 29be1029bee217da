"""The entity table and tagger: bundled names in Chinese and English, alias rules that need
context, offsets into the original text, parents, and user additions from the config.

Every text here was written for the test.
"""

from __future__ import annotations

import pickle

import pytest

from newswatch.entities import (
    EntityError,
    EntityHit,
    EntityTagger,
    Span,
    load_table,
    merge_user_entities,
)
from newswatch.entities.fold import fold, fold_keep_case


@pytest.fixture(scope="module")
def table():
    return load_table()


@pytest.fixture(scope="module")
def tagger(table):
    return EntityTagger(table)


def ids(tagger: EntityTagger, title: str, text: str = "") -> set[str]:
    return {hit.entity for hit in tagger.tag(title, text)}


# -- the bundled table -----------------------------------------------------------------------

def test_bundled_table_is_versioned_and_covers_the_main_labs(table) -> None:
    assert isinstance(table.version, int) and table.version >= 1
    assert len(table) >= 40
    for eid in ("openai", "chatgpt", "gpt-4o", "deepseek", "deepseek-v3", "deepseek-r1", "alibaba",
                "qwen", "moonshot", "kimi", "zhipu", "glm", "baidu", "ernie", "bytedance", "doubao",
                "anthropic", "claude", "google", "gemini", "meta", "llama", "mistral", "xai", "grok",
                "iflytek", "spark", "tencent", "hunyuan", "minimax", "01ai", "yi", "baichuan",
                "sensetime", "sensenova", "nvidia", "microsoft", "copilot", "apple-intelligence"):
        assert eid in table, eid
    kinds = {e.kind for e in table.entities.values()}
    assert kinds == {"org", "product", "model"}
    for entity in table.entities.values():
        assert entity.label_en and entity.label_zh
        if entity.kind != "org":
            assert entity.parent is not None or entity.id in ("manus", "cursor"), entity.id


def test_lineage_and_descendants(table) -> None:
    assert table.lineage("deepseek-r1") == ("deepseek-r1", "deepseek")
    assert table.lineage("qwq") == ("qwq", "qwen", "alibaba")
    assert {"deepseek", "deepseek-v3", "deepseek-r1"} <= table.descendants("deepseek")
    assert table.with_parents(["qwq", "kimi"]) == {"qwq", "qwen", "alibaba", "kimi", "moonshot"}
    assert table.root("doubao") == "bytedance"


# -- names in both languages -----------------------------------------------------------------

@pytest.mark.parametrize(("title", "text", "expected"), [
    ("深度求索开源新模型", "这家杭州公司发布了DeepSeek-V3和推理模型R1。", {"deepseek", "deepseek-v3", "deepseek-r1"}),
    ("DeepSeek releases V3", "The lab's R1 reasoning model follows next month.", {"deepseek", "deepseek-v3", "deepseek-r1"}),
    ("OpenAI推出GPT-4o", "ChatGPT用户今天就能用上。", {"openai", "gpt-4o", "chatgpt"}),
    ("阿里发布通义千问新版本", "Qwen3在多项评测中领先，阿里云同步上线API。", {"alibaba", "qwen"}),
    ("月之暗面推出Kimi新模型", "月之暗面称，Kimi的长文本能力再次提升。", {"moonshot", "kimi"}),
    ("智谱开源GLM-4", "智谱表示，GLM系列模型下载量突破千万。", {"zhipu", "glm"}),
    ("百度文心一言全面免费", "ERNIE Bot users no longer pay; 百度 says ERNIE 4.5 ships next week.", {"baidu", "ernie"}),
    ("字节跳动发布豆包大模型1.5", "Doubao-1.5-pro 由字节旗下火山引擎提供。", {"bytedance", "doubao", "volcano-engine"}),
    ("Anthropic ships Claude 3.7 Sonnet", "Claude can now think for longer.", {"anthropic", "claude"}),
    ("Google updates Gemini", "Gemini 2.5 Pro tops the LMArena leaderboard, Google said.", {"google", "gemini"}),
    ("Meta releases Llama 4", "Llama 4 Scout fits on one GPU, Meta says.", {"meta", "llama"}),
    ("Mistral AI ships Small 3.1", "Mistral Small 3.1 is open under Apache 2.0.", {"mistral", "mistral-models"}),
    ("xAI launches Grok 3", "Grok 3 was trained on Colossus.", {"xai", "grok"}),
    ("科大讯飞发布星火X1", "讯飞星火大模型再升级。", {"iflytek", "spark"}),
    ("腾讯混元T1上线", "混元大模型团队称推理速度翻倍。", {"tencent", "hunyuan"}),
    ("MiniMax开源MiniMax-01", "MiniMax称上下文长度达到400万。", {"minimax"}),
    ("零一万物发布Yi-Lightning", "李开复说，Yi系列模型将继续开源。", {"01ai", "yi"}),
    ("百川智能发布医疗大模型", "百川的新模型面向儿科。", {"baichuan"}),
    ("商汤发布日日新V6", "商汤科技称日日新大模型支持多模态推理。", {"sensetime", "sensenova"}),
    ("Nvidia unveils Blackwell Ultra", "英伟达同时公布了下一代路线图。", {"nvidia"}),
    ("Microsoft gives Copilot a memory", "微软的Copilot现在能记住用户偏好。", {"microsoft", "copilot"}),
    ("iOS 18.4 brings Apple Intelligence to Chinese", "Apple Intelligence 支持简体中文。", {"apple-intelligence"}),
])
def test_names_in_chinese_and_english(table, tagger, title, text, expected) -> None:
    # What a watch sees: the hits and their parents (腾讯混元T1 is one hit, hunyuan).
    assert expected <= table.with_parents(ids(tagger, title, text))


def test_traditional_and_full_width_spellings(tagger) -> None:
    assert {"qwen", "alibaba"} <= ids(tagger, "阿里巴巴開源通義千問Qwen3", "")
    assert "openai" in ids(tagger, "ＯｐｅｎＡＩ發表新模型", "")
    assert "gpt-4o" in ids(tagger, "GPT‑4o（non-breaking hyphen）", "")


# -- aliases that are ordinary words need context --------------------------------------------

@pytest.mark.parametrize(("text", "entity"), [
    ("豆包好吃，早餐店的豆包两块钱一个。", "doubao"),
    ("Claude Monet painted water lilies at Giverny.", "claude"),
    ("Gemini zodiac: this week brings a surprise for Gemini natives.", "gemini"),
    ("The R1 visa lets religious workers enter the United States.", "deepseek-r1"),
    ("We fit a GLM regression with a log link to the count data.", "glm"),
    ("Kimi Räikkönen won the race in Melbourne.", "kimi"),
    ("It takes years to grok a language; to grok is to understand.", "grok"),
    ("The farm keeps a llama and two alpacas.", "llama"),
    ("他练的是混元太极，讲究混元一气。", "hunyuan"),
    ("星星之火，可以燎原；星火燎原的故事。", "spark"),
    ("Yi Jianlian scored twenty points for the team.", "yi"),
    ("海纳百川，有容乃大。", "baichuan"),
    ("苟日新，日日新，又日新。", "sensenova"),
    ("这家店的苹果很甜，一斤五块钱。", "apple"),
    ("早上喝了一碗小米粥。", "xiaomi"),
    ("The copilot took over the controls during the descent.", "copilot"),
    ("The mistral wind blew down the Rhône valley all week.", "mistral"),
    ("A meta-analysis of forty trials found no effect.", "meta"),
    ("The minimax algorithm prunes the game tree.", "minimax"),
    ("XAI methods explain a classifier's decisions.", "xai"),
    ("Move the cursor to the top left of the screen.", "cursor"),
    ("Perplexity of the test set fell from 20 to 12.", "perplexity"),
    ("Refugees were held on Manus Island for years.", "manus"),
    ("这个文件只有几个字节，打开很快。", "bytedance"),
    ("古钱币收藏中，金元宝的价格最高。", "yuanbao"),
    ("我们去阿里山看日出。", "alibaba"),
    ("平克·弗洛伊德的专辑《月之暗面》发行五十周年。", "moonshot"),
    ("寒武纪大爆发时期出现了大量生物门类。", "cambricon"),
    ("盘古开天辟地的神话流传了几千年。", "pangu"),
])
def test_ordinary_words_are_not_entities(tagger, text, entity) -> None:
    assert entity not in ids(tagger, "", text)


@pytest.mark.parametrize(("title", "text", "entity"), [
    ("字节发布新模型", "豆包用户数再创新高，豆包App下载量第一。", "doubao"),
    ("Claude gets a memory", "Anthropic's chatbot Claude can now remember past chats.", "claude"),
    ("Gemini 2.5 Pro", "The AI model leads the LMArena leaderboard.", "gemini"),
    ("Tencent adds R1", "Its assistant now runs DeepSeek's R1 reasoning model.", "deepseek-r1"),
    ("满血版R1上线", "用户可以免费使用满血版R1推理模型。", "deepseek-r1"),
    ("GLM goes open source", "The open-source model family from Zhipu grows.", "glm"),
    ("Kimi gets a reasoning mode", "Moonshot AI says Kimi now thinks before answering.", "kimi"),
    ("星火X1升级", "科大讯飞称星火大模型数学能力提升。", "spark"),
    ("混元开源3D生成模型", "腾讯混元团队今天开源五款模型。", "hunyuan"),
    ("Meta's Llama 4", "Llama, the open-weight model family, gets a new release.", "llama"),
])
def test_aliases_count_with_context_or_family(tagger, title, text, entity) -> None:
    assert entity in ids(tagger, title, text)


def test_context_must_be_near(table) -> None:
    tagger = EntityTagger(table, near=20)
    far = "豆包" + "。" * 60 + "大模型"
    assert "doubao" not in ids(tagger, "", far)
    assert "doubao" in ids(tagger, "", "豆包" + "。" * 5 + "大模型")
    # The title is the text's first line: context at the start of the text is near it.
    assert "doubao" in ids(tagger, "豆包再升级", "大模型" + "。" * 60)
    assert "doubao" not in ids(tagger, "豆包再升级", "。" * 60 + "大模型")


def test_cased_spellings(tagger) -> None:
    assert "xai" in ids(tagger, "xAI raises money", "")
    assert "xai" not in ids(tagger, "XAI raises questions", "")
    assert "grok" in ids(tagger, "Grok 3 is out", "xAI says Grok beats rivals.")
    assert "grok" not in ids(tagger, "", "xAI wants people to grok its roadmap.")


# -- boundaries ------------------------------------------------------------------------------

def test_versions_do_not_match_their_neighbours(tagger) -> None:
    assert "gpt-4o" not in ids(tagger, "GPT-4.5 and GPT-4.1 beat GPT-4 and GPT-40", "")
    assert "gpt-4o" in ids(tagger, "GPT-4o-mini is GPT-4o's small sibling", "")
    assert {"gpt-4.5", "gpt-4.1"} <= ids(tagger, "GPT-4.5 and GPT-4.1", "")
    assert "deepseek-v3" not in ids(tagger, "DeepSeek-V3.1 is out", "")
    assert "deepseek-v3" in ids(tagger, "DeepSeek-V3-0324 is out", "")
    assert "deepseek-r1" not in ids(tagger, "DeepSeek R10", "DeepSeek's R10 plan")
    assert "qwen" in ids(tagger, "Qwen3 and Qwen2.5-VL", "")
    assert "llama" not in ids(tagger, "Llamas at the zoo", "open-source model llamas")


def test_a_hit_inside_a_longer_hit_is_dropped(tagger) -> None:
    hits = tagger.tag("DeepSeek-R1 tops the chart", "")
    assert [h.entity for h in hits] == ["deepseek-r1"]
    assert hits[0].aliases == ("DeepSeek-R1",)


# -- offsets ---------------------------------------------------------------------------------

def test_spans_point_into_the_original_text(tagger) -> None:
    title = "阿里巴巴開源通義千問"
    text = "Ｑｗｅｎ３ and ｇｐｔ-4o, then 深度求索 and DeepSeek again."
    hits = {h.entity: h for h in tagger.tag(title, text)}
    for hit in hits.values():
        for span in hit.spans:
            source = title if span.field == "title" else text
            assert fold(source[span.start:span.end]) in {fold(a) for a in hit.aliases}
    assert hits["qwen"].spans[0] == Span("title", 6, 10)
    assert "Ｑｗｅｎ" in hits["qwen"].aliases
    assert hits["deepseek"].aliases == ("深度求索", "DeepSeek")
    assert [s.field for s in hits["deepseek"].spans] == ["text", "text"]


def test_fold_keeps_length() -> None:
    samples = ["ＧＰＴ－４ｏ", "通義千問數字人", "ﬁne Straße ㈱", "İstanbul Σίσυφος", "e\u0301", "\U0002070e字"]
    for text in samples:
        assert len(fold(text)) == len(text), text
        assert len(fold_keep_case(text)) == len(text), text
    assert fold("ＧＰＴ－４ｏ") == "gpt-4o"
    assert fold_keep_case("ＧＰＴ－４ｏ 通義") == "GPT-4o 通义"


def test_hits_are_plain_picklable_values(tagger) -> None:
    hits = tagger.tag("OpenAI and 深度求索", "")
    assert pickle.loads(pickle.dumps(hits)) == hits
    assert all(isinstance(h, EntityHit) for h in hits)


# -- user additions --------------------------------------------------------------------------

def test_user_entities_extend_and_add(table) -> None:
    merged = merge_user_entities(table, {
        "deepseek": {"names": ["深度求索公司"], "aliases": ["鲸鱼"], "context": ["开源"]},
        "my-lab": {"names": ["Acme AI"], "aliases": ["Acme"], "context": ["model"]},
        "acme-bot": {"kind": "product", "parent": "my-lab", "names": ["AcmeBot"]},
    })
    assert merged.version == table.version
    assert merged.fingerprint != table.fingerprint
    assert merge_user_entities(table, None) is table
    tagger = EntityTagger(merged)
    assert "deepseek" in ids(tagger, "鲸鱼开源了新模型", "")
    assert "deepseek" not in ids(tagger, "海洋馆里的鲸鱼", "")
    assert {"my-lab", "acme-bot"} <= ids(tagger, "AcmeBot from Acme AI", "")
    assert "my-lab" not in ids(tagger, "Acme anvils for sale", "")
    assert merged.with_parents(["acme-bot"]) == {"acme-bot", "my-lab"}
    assert merged["deepseek"].names[0].text == "DeepSeek"  # bundled names kept


@pytest.mark.parametrize(("config", "message"), [
    ({"my-lab": {"alias": ["Acme"]}}, "entities.my-lab: unknown key 'alias' (did you mean 'aliases'?) "
                                      "(allowed: kind, parent, label, names, aliases, context, exclude)"),
    ({"my-lab": {"names": ["Acme"], "parent": "open-ai"}},
     "entities.my-lab.parent: unknown entity 'open-ai' (did you mean 'openai'?)"),
    ({"my-lab": {"aliases": ["Acme"]}},
     "entities.my-lab.aliases[0]: 'Acme' needs context words (entities.my-lab.context) or a name in its family"),
    ({"my-lab": {"names": ["Acme", 42]}},
     "entities.my-lab.names[1]: expected a string, got int 42 (quote it in YAML)"),
    ({"my-lab": {"names": ["Acme"], "kind": "company"}},
     "entities.my-lab.kind: expected one of org, product, model, got 'company'"),
    ({"My Lab": {"names": ["Acme"]}}, "entities: entity id 'My Lab' must be lower case without spaces"),
    ({"my-lab": {"names": [{"name": "阿克米", "cased": True}]}},
     "entities.my-lab.names[0].cased: only Latin spellings can be cased, not '阿克米'"),
    ({"a": {"names": ["A"], "parent": "b"}, "b": {"names": ["B"], "parent": "a"}},
     "entities.a.parent: a cycle (a -> b -> a)"),
    ({"my-lab": {"aliases": [{"alias": "Acme", "context": []}]}},
     "entities.my-lab.aliases[0].context: give at least one word (or leave the key out)"),
    (["openai"], "entities: expected a mapping of entity id -> entry, got list"),
])
def test_user_entity_errors_name_the_key(table, config, message) -> None:
    with pytest.raises(EntityError) as caught:
        merge_user_entities(table, config)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_unknown_entity_lookup_suggests(table) -> None:
    with pytest.raises(EntityError, match=r"watches\[0\]\.entities\[0\]: unknown entity 'deepsek' \(did you mean 'deepseek'\?\)"):
        table.get("deepsek", "watches[0].entities[0]")
