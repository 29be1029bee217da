"""extract_article on small hand-written pages: boilerplate, metadata, skip reasons,
browser detection, and garbage input."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.extraction import Article, extract_article

FIX = Path(__file__).parent / "fixtures" / "extraction"


def load(name: str, header_charset: str | None = None) -> Article:
    return extract_article((FIX / name).read_bytes(), f"https://example.com/{name}", header_charset)


def test_chinese_boilerplate_removed():
    art = load("zh_boilerplate.html")
    assert art.skip_reason is None and art.needs_browser is None
    assert art.text.startswith("4月11日，多家国内科技公司")  # the page's own punctuation
    assert "专家建议" in art.text
    for noise in ("交易所", "下载APP", "首页", "当前位置", "责任编辑", "版权所有", "免责声明",
                  "相关阅读", "国产芯片", "热门排行", "折叠屏", "网友评论", "期待更多报道",
                  "友情链接", "ICP备", "统计代码"):
        assert noise not in art.text, noise
    assert art.title == "大模型厂商密集发布新品 行业进入应用落地期"
    assert art.published == datetime(2023, 4, 12, 2, 30, tzinfo=UTC)
    assert art.author == "李明"
    assert art.language == "zh" and art.encoding == "utf-8"


def test_chinese_page_in_gbk_with_wrong_header():
    html = (FIX / "zh_boilerplate.html").read_text(encoding="utf-8")
    body = html.replace('charset="utf-8"', 'charset="gb2312"').encode("gbk", "xmlcharrefreplace")
    art = extract_article(body, "https://example.com/gbk", "utf-8")
    assert art.encoding == "gb18030" and "专家建议" in art.text


def test_english_article_metadata_and_noise():
    art = load("en_article.html")
    assert art.title == "Chip makers race to build AI accelerators"
    assert art.author == "Jane Doe"
    assert art.published == datetime(2024, 3, 5, 19, 0, tzinfo=UTC)
    assert art.language == "en"
    assert art.text.startswith("Semiconductor companies") and "single supplier." in art.text
    for noise in ("Cloud prices rise", "Share on Twitter", "All rights reserved", "Home"):
        assert noise not in art.text, noise


def test_date_and_author_from_chinese_text():
    body = ("<html><body><div class='meta'>发布时间：2023年4月12日 10:30 作者：张伟</div><div>"
            + "<p>" + "人工智能公司发布了新的模型，引发行业关注和讨论。" * 6 + "</p>" * 1
            + "</div></body></html>").encode()
    art = extract_article(body, "https://example.com/t")
    assert art.published == datetime(2023, 4, 12, 2, 30, tzinfo=UTC)  # 10:30 Beijing time
    assert art.author == "张伟" and art.language == "zh"


def test_language_from_html_lang_when_not_cjk():
    body = ("<html lang='de'><body><article><p>" + "Das neue Sprachmodell wurde heute "
            "vorgestellt und soll deutlich schneller arbeiten als sein Vorgänger. " * 4
            + "</p></article></body></html>").encode()
    assert extract_article(body, "https://example.de/a").language == "de"


def test_paywall_preview_is_an_article_without_the_notice():
    art = load("paywall.html")
    assert art.skip_reason is None
    assert "市场规模随之快速增长" in art.text
    assert "预览已结束" not in art.text and "example.com/report" not in art.text
    assert art.author == "研究中心"


@pytest.mark.parametrize("name,reason", [
    ("app_root.html", "empty app root #app"),
    ("noscript.html", "noscript asks for JavaScript"),
    ("next_data.html", "text only in inline JSON (NEXT_DATA)"),
])
def test_needs_browser(name, reason):
    art = load(name)
    assert art.needs_browser == reason
    assert art.skip_reason in ("empty", "loading notice", "too short")


def test_full_article_with_inline_json_does_not_need_browser():
    html = (FIX / "en_article.html").read_text(encoding="utf-8").replace(
        "</body>", '<script>window.__INITIAL_STATE__={"a":1}</script></body>')
    art = extract_article(html.encode(), "https://example.com/x")
    assert art.needs_browser is None and art.skip_reason is None


@pytest.mark.parametrize("body,reason", [
    (b"", "empty"),
    (b"   \n ", "empty"),
    (b"<html><body></body></html>", "empty"),
    ("<html><body><p>加载中…</p></body></html>".encode(), "loading notice"),
    (b"<html><body><div>Loading...</div></body></html>", "loading notice"),
    ("<html><body><p>正在加载</p><p>请开启JavaScript</p></body></html>".encode(), "loading notice"),
    ("<html><body><p>本站简介：人工智能资讯</p></body></html>".encode(), "too short"),
    (b"<html><body><p>Short note about a model.</p></body></html>", "too short"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not html"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not html"),
    (b'{"items": [1, 2, 3]}', "not html"),
])
def test_skip_reasons(body, reason):
    assert extract_article(body, "https://example.com/s").skip_reason == reason


def test_chinese_length_threshold_counts_characters():
    short = "<html><body><p>" + "模型" * 12 + "</p></body></html>"
    enough = "<html><body><article><p>" + "新的模型今天发布了，" * 12 + "</p></article></body></html>"
    assert extract_article(short.encode(), "u").skip_reason == "too short"
    assert extract_article(enough.encode(), "u").skip_reason is None


@pytest.mark.parametrize("body", [
    bytes(range(256)) * 50,
    b"<html><body><div><p>unclosed <b>tags <i>everywhere",
    b"<?xml version='1.0' encoding='gbk'?><html><body><p>x</p></body></html>",
    b"<" * 10000,
    b"<html>" + b"<div>" * 5000 + b"deep" + b"</div>" * 10,
    "<html><body><p>中文".encode("utf-16"),
    b"\xff\xfe\x00\x00garbage",
    b"<html><body>" + b"\xe4\xb8" * 1000 + b"</body></html>",
])
def test_garbage_never_raises(body):
    art = extract_article(body, "not a url", "bogus-charset")
    assert isinstance(art, Article)


def test_article_is_frozen_and_picklable_and_runs_in_a_process_pool():
    art = load("zh_boilerplate.html")
    with pytest.raises(AttributeError):
        art.title = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(art)) == art
    body = (FIX / "en_article.html").read_bytes()
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(extract_article, body, "https://example.com/en").result()
    assert remote == extract_article(body, "https://example.com/en")


def test_stored_text_keeps_the_pages_own_characters():
    # issue 10 item 1: NFKC is for comparing and hashing; the text keeps full-width forms
    para = ("人工智能（AI）公司今天发布了新模型：ＧＰＴ－５，速度提升一倍。"
            "研究人员表示，新模型在多项测试中的表现都超过了上一代产品，成本也更低。")
    body = (f"<html><head><title>新模型发布</title></head><body><article><h1>新模型发布</h1>"
            f"<p>{para}</p><p>{para}</p><p>　　第三段：　测试（二）\u200b结束。{para}</p>"
            f"</article></body></html>").encode()
    art = extract_article(body, "https://example.com/fullwidth")
    assert art.skip_reason is None
    for kept in ("，", "：", "（", "）", "ＧＰＴ－５", "测试（二）结束"):
        assert kept in art.text, kept
    assert "\u3000" not in art.text and "\u200b" not in art.text
    assert art.text.split("\n")[0].startswith("人工智能（AI）")
