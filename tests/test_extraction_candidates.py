"""Candidates and the selector (issue 11): trafilatura asked only when the readability-based
text is doubtful and chosen by evidence on the page; JSON-LD articleBody for script-drawn
pages; metadata fixes (bylines in the text, publisher-like meta authors, escaped JSON-LD)."""

from __future__ import annotations

import json

from newswatch.extraction import extract_article, select
from newswatch.extraction.candidates import jsonld_body

EN = ("The committee met on Thursday to review the proposal, and members said the new rules "
      "would take effect next spring after a period of public comment. ")


def page(body: str, head: str = "<title>Test</title>") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


def test_text_under_the_headline_is_kept_when_no_candidate_does_better():
    story = "".join(f"<p>Paragraph {i}. {EN}</p>" for i in range(4))
    body = f"<article><h1>Committee backs new rules</h1>{story}</article>"
    art = extract_article(page(body, "<title>Committee backs new rules</title>"),
                          "https://example.com/b")
    assert art.text.count("Paragraph") == 4


def evidence_of(page_text: str, title: str) -> select.PageEvidence:
    import lxml.html

    body = lxml.html.fromstring("<html><body>" + "".join(
        f"<h1>{x}</h1>" if x == title else f"<p>{x}</p>" for x in page_text.split("\n"))
        + "</body></html>").find("body")
    return select.PageEvidence.of(body, page_text, title)


def test_choose_prefers_ours_when_the_other_only_adds_to_it():
    page_text = "Headline here\n" + "\n".join(f"Paragraph {i}. {EN}" for i in range(3))
    evidence = evidence_of(page_text, "Headline here")
    ours = "\n".join(f"Paragraph {i}. {EN}" for i in range(3))
    other = ours + "\nShare this story with friends and family on every network you use today"
    assert select.choose(ours, other, evidence)[1] == "readability"


def test_choose_takes_the_other_when_ours_is_a_short_unrelated_block():
    page_text = "Sign up for our newsletter\nHeadline here\n" + "\n".join(
        f"Paragraph {i}. {EN}" for i in range(3))
    evidence = evidence_of(page_text, "Headline here")
    ours = "Sign up for our newsletter"
    other = "\n".join(f"Paragraph {i}. {EN}" for i in range(3))
    assert select.choose(ours, other, evidence) == (other, "trafilatura")


def test_choose_takes_the_other_when_ours_holds_it_and_a_whole_page_more():
    story = "\n".join(f"Paragraph {i}. {EN}" for i in range(8))
    comments = "\n".join(f"Comment {i}: I think this is {'very ' * 3}interesting "
                         + "word " * 30 for i in range(120))
    evidence = evidence_of("Headline\n" + story + "\n" + comments, "Headline")
    assert select.doubtful(select.tokens(story + "\n" + comments), evidence, story)
    assert select.choose(story + "\n" + comments, story, evidence) == (story, "trafilatura")


def test_jsonld_article_body_when_the_page_draws_its_text_with_a_script():
    body_text = " ".join(f"Sentence {i} of the article." for i in range(40))
    data = {"@context": "https://schema.org", "@type": "NewsArticle",
            "headline": "Lab news", "articleBody": body_text}
    head = (f"<title>Lab news</title><script type='application/ld+json'>{json.dumps(data)}"
            "</script>")
    art = extract_article(page("<div id='app'></div>", head), "https://example.com/js")
    assert "Sentence 39 of the article." in art.text and art.skip_reason is None


def test_jsonld_body_reads_graphs_and_skips_broken_scripts():
    import lxml.html

    graph = {"@graph": [{"@type": "WebPage"}, {"@type": "Article", "articleBody": "<p>Hi</p> there"}]}
    root = lxml.html.fromstring(
        "<html><head><script type='application/ld+json'>{broken articleBody</script>"
        f"<script type='application/ld+json'>{json.dumps(graph)}</script></head><body></body></html>")
    assert jsonld_body(root) == "Hi there"


def test_chinese_bylines_inside_and_after_the_text():
    para = "国内多家人工智能公司本周发布了新一代大模型，研究人员表示，新模型表现明显好于上一代产品。"
    for byline, name in (("（总台记者 张倩）", "张倩"), ("（姚峰 上海报道）", "姚峰"),
                         ("本报记者罗科苏盈发自北京", "罗科苏盈")):
        body = "<div>" + f"<p>{para}</p>" * 1 + f"<p>第二段。{para}</p><p>{byline}</p></div>"
        art = extract_article(page(body), "https://example.com/zh")
        assert art.author == name, (byline, art.author)


def test_publisher_like_meta_author_is_no_author_and_json_ld_escapes_are_read():
    story = "".join(f"<p>Paragraph {i}. {EN}</p>" for i in range(3))
    head = ("<title>T</title><meta name='author' content='www.example.cn,示例日报报业集团,示例网'>"
            '<script type="application/ld+json">{"author": {"name": "\\u5b89\\u4e1c\\u5c3c"}}'
            "</script>")
    art = extract_article(page(f"<article>{story}</article>", head), "https://example.com/m")
    assert art.author == "安东尼"


def test_markup_in_a_title_is_no_title():
    head = "<title>window',635,580); return false;\">Golf</a></p> <div cla</title>"
    body = "<h1>Gale to drive Nationwide</h1>" + "".join(f"<p>P{i}. {EN}</p>" for i in range(3))
    art = extract_article(page(body, head), "https://example.com/t")
    assert art.title == "Gale to drive Nationwide"
