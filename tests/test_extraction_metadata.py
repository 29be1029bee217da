"""Metadata rules (issue 11 item 4), each pinned with a small page written for the test: the
headline among the headings that <title> holds (not the site's name), the headline that
stands out above the text when <title> only names the site, the date after the
headline or labelled as the publication's, and bylines (several reporters, a line of
reporters, names in brackets at the end, the editor as the last resort)."""

from __future__ import annotations

from datetime import UTC, datetime

from newswatch.extraction import extract_article

ZH = "国内多家人工智能公司本周发布了新一代大模型，研究人员表示，新模型在多项测试中表现明显好于上一代产品。"
EN = ("The committee met on Thursday to review the proposal, and members said the new rules "
      "would take effect next spring after a period of public comment. ")


def page(body: str, head: str = "<title>测试</title>") -> bytes:
    return f"<html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>".encode()


def author_of(body: str, head: str = "<title>测试</title>") -> str | None:
    return extract_article(page(body, head), "https://example.com/byline").author


def headline_of(body: str, head: str) -> str:
    return extract_article(page(body, head), "https://example.com/headline").title


def story(text: str = ZH, n: int = 4) -> str:
    return "".join(f"<p>{text}</p>" for _ in range(n))


# ------------------------------------------------------------------------------ title


def test_the_headline_is_the_heading_that_title_holds_not_the_logo():
    head = "<title>The Final Chapter? - 1/21/2008 - Trade Weekly</title>"
    body = ("<div id='logo'><h1><a href='/'>Trade Weekly</a></h1></div>"
            f"<div id='article'><h1>The Final Chapter?</h1>{story(EN)}</div>")
    assert headline_of(body, head) == "The Final Chapter?"


def test_a_lower_heading_is_the_headline_when_the_h1_names_the_site():
    head = "<title>City Radio News : Latest : Summer Report: local papers</title>"
    body = ("<div id='head'><h1><a href='/' title='Home'>City Radio</a></h1></div>"
            f"<h2>Summer Report: local papers</h2>{story(EN)}<h2>Other news</h2>")
    assert headline_of(body, head) == "Summer Report: local papers"


def test_the_only_h1_is_no_headline_when_it_sits_in_the_page_header():
    head = "<title>Bucket List Tops Box Office - Star Blog</title>"
    body = (f"<div class='pageHeader'><h1>Star Blog</h1></div>{story(EN)}")
    assert headline_of(body, head) == "Bucket List Tops Box Office"


def test_the_headline_above_the_text_when_title_only_names_the_site():
    head = "<title>Valley Courier Online</title>"
    body = ("<div class='nav'><a href='/'>Home</a> <a href='/news'>Local News</a></div>"
            "<div class='story'><div class='title'>Council approves new bridge over the river"
            f"</div><div>By Ann Lee</div><div>Jan 15, 2008</div>{story(EN)}</div>")
    assert headline_of(body, head) == "Council approves new bridge over the river"


def test_a_chinese_headline_in_bold_above_the_text_beats_a_greeting_title():
    head = "<title>谢谢您访问本站</title>"
    body = f"<table><tr><td><b>人工智能公司发布新一代大模型</b><br>{story()}</td></tr></table>"
    assert headline_of(body, head) == "人工智能公司发布新一代大模型"


def test_a_title_that_names_the_story_stays_whatever_stands_out_above_the_text():
    # the <title> says what the text says; the bold line above the text is a label
    head = "<title>Committee reviews the proposal for new rules next spring</title>"
    body = f"<b>PRESS RELEASE TODAY</b>{story(EN)}"
    assert headline_of(body, head) == "Committee reviews the proposal for new rules next spring"


def test_a_byline_in_bold_is_no_headline():
    head = "<title>Valley Courier Online</title>"
    body = f"<div class='title'>Council approves new bridge</div><b>By Ann Lee</b>{story(EN)}"
    assert headline_of(body, head) == "Council approves new bridge"


# ------------------------------------------------------------------------------ date


def test_the_date_right_after_the_headline_beats_an_earlier_one():
    body = ("<div class='side'>归档 2019-01-05</div><h1>研究机构发布新模型</h1>"
            f"<div>2004-12-10 阅读 120 次</div>{story()}")
    art = extract_article(page(body), "https://example.com/d")
    assert art.published == datetime(2004, 12, 9, 16, 0, tzinfo=UTC)  # 2004-12-10 in Beijing


def test_a_labelled_publication_date_anywhere_on_the_page():
    body = (f"<h1>研究机构发布新模型</h1>{story()}<div class='foot'>作者:张伟 "
            "发布于：2015-11-05 11:34</div>")
    art = extract_article(page(body), "https://example.com/e")
    assert art.published == datetime(2015, 11, 5, 3, 34, tzinfo=UTC)


def test_an_archive_range_is_no_date():
    body = f"<ul><li>12/01/2004 - 01/01/2005</li></ul>{story()}"
    assert extract_article(page(body), "https://example.com/f").published is None


# ------------------------------------------------------------------------------ author


def test_several_authors_after_a_label():
    body = f"<table><tr><td>来源：示例经济报道</td><td>作者：宋怡 杨志华</td></tr></table>{story()}"
    assert author_of(body) == "宋怡 杨志华"


def test_a_line_of_reporters_above_the_text():
    for line, names in (("\u3000\u3000光明日报记者 王建宏 张文攀", "王建宏 张文攀"),
                        ("\xa0\xa0示例新闻·示例商报记者马俊峰/文", "马俊峰"),
                        ("□ 本报记者 葛灵丹", "葛灵丹")):
        body = f"<div><p>【新春走基层】</p><p>{line}</p>{story()}</div>"
        assert author_of(body) == names, line


def test_a_reporter_line_at_the_end_leaves_out_the_place():
    body = f"<div>{story()}<p>新京报记者 彭冲 山东冠县报道</p><p>【编辑:刘欢】</p></div>"
    assert author_of(body) == "彭冲"


def test_a_menu_item_named_for_reporters_is_no_byline():
    body = f"<ul><li>在线荐稿</li><li>记者博客</li><li>记者调查</li></ul><div>{story()}</div>"
    assert author_of(body) is None


def test_names_in_brackets_at_the_end_of_the_text():
    body = f"<div>{story(n=3)}<p>{ZH}（常书香 马丹阳 ）</p></div>"
    assert author_of(body) == "常书香 马丹阳"
    body = f"<div>{story(n=3)}<p>{ZH}（新华社）</p></div>"
    assert author_of(body) is None


def test_the_editor_when_nothing_names_an_author():
    body = f"<div>{story()}<p align=right>（ 责任编辑：刘林源 ）</p></div>"
    assert author_of(body) == "刘林源"


def test_a_user_id_or_a_network_in_meta_author_is_no_author():
    for value in ("L_104485", "大汉网络"):
        head = f"<title>测试</title><meta name='author' content='{value}'>"
        body = f"<div>{story()}<p>□ 本报记者 葛灵丹</p></div>"
        assert author_of(body, head) == "葛灵丹"
