"""Decoded HTML -> lxml tree, and the tree-level cleaning done before scoring:
scripts/styles/comments out, hidden elements out, boilerplate containers out by class/id."""

from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
from lxml import etree

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
# every element an HtmlElement, chosen in C: lxml.html's own lookup (a Python call for each
# element touched, to find <form>/<input> classes nothing here uses) cost a tenth of the time
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)

# removed with their content before anything else looks at the tree
JUNK_TAGS = (
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "button", "select", "textarea", "input", "link", "meta", "head", "dialog",
)

_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
# readability's "unlikely candidate" rule (applied on the first, ruthless pass only)
_UNLIKELY = re.compile(
    r"combx|comment|community|disqus|extra|foot|header|menu|remark|rss|shoutbox|sidebar|"
    r"sponsor|ad-break|agegate|pagination|pager|popup|tweet|twitter", re.I)
_MAYBE = re.compile(r"and|article|body|column|content|main|shadow", re.I)
# boilerplate blocks recognised by one class/id word (split on space, - and _)
_BOILER_WORDS = frozenset("""
ad ads adv advert advertisement adsense adbox adwrap banner sponsor sponsored promo
share sharing social sns bdsharebuttonbox jiathis
related relate recommend recommended recommendation rec tuijian xgyd xgwz
hot hotnews hotlist rank ranking paihang top10 toplist
comment comments commentlist reply replies pinglun
copyright disclaimer statement mianze banquan
breadcrumb breadcrumbs crumb crumbs weizhi
friendlink friendlinks flink links yqlj
qrcode erweima subscribe newsletter login signin signup register
navbar menu sidebar toolbar gotop backtop totop
cookie cookies consent popup modal
""".split())
_KEEP_TAGS = frozenset(("html", "body", "article", "main"))
_SEPARATORS = re.compile(r"[_\-]")


def parse_html(text: str) -> lxml.html.HtmlElement | None:
    """Parse decoded HTML; None when there is nothing to parse."""
    if not text or not text.strip():
        return None
    data = _close_title(_XML_DECL.sub("", text, count=1)).encode("utf-8", "replace")
    try:
        root = lxml.html.document_fromstring(data, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    if root.find("body") is None:
        _move_page_out_of_head(root)
    return root


def _close_title(text: str) -> str:
    """A <title> never closed makes libxml2 read the rest of the page as the title's text:
    close it where its line or the next tag starts."""
    opened = _TITLE_OPEN.search(text)
    if opened is None or _TITLE_CLOSE.search(text, opened.end()):
        return text
    end = len(text)
    for stop in ("<", "\n"):
        at = text.find(stop, opened.end())
        if 0 <= at < end:
            end = at
    return f"{text[:end]}</title>{text[end:]}"


_HEAD_TAGS = frozenset(("title", "meta", "link", "style", "script", "base", "noscript",
                        "template"))


def _move_page_out_of_head(root: lxml.html.HtmlElement) -> None:
    """An unknown tag in <head> (<cms:include>, <mbox>) makes libxml2 keep the rest of the
    page inside the head, where dropping <head> would take the whole page: give it a body."""
    nested = root.find(".//body")
    if nested is not None:
        root.append(nested)
        return
    head = root.find("head")
    if head is None:
        return
    strays = [el for el in head if not isinstance(el.tag, str) or el.tag not in _HEAD_TAGS]
    if not any(isinstance(el.tag, str) for el in strays):
        return
    body = root.makeelement("body", {})
    for el in strays:
        body.append(el)
    root.append(body)


def _protected_set(root: lxml.html.HtmlElement) -> set:
    """Elements that hold the article (article/main/pre/code/itemprop=articleBody) and all
    their ancestors: never dropped by class/id alone."""
    keep: set = set()
    for el in root.xpath("//article | //main | //pre | //code | //*[@itemprop='articleBody']"):
        keep.add(el)
        for anc in el.iterancestors():
            if anc in keep:
                break
            keep.add(anc)
    return keep


# one class name that names a box about the author (bio, profile), not the byline or the post
_AUTHOR_WORDS = frozenset(("author", "authors", "writer"))
_AUTHOR_BOX_PARTS = frozenset("info box bio about profile post article details description block "
                              "wrap wrapper card biography".split())
_AUTHOR_BOX_NAMES = frozenset("authorinfo authorbox authorbio aboutauthor abouttheauthor "
                              "authorprofile bio biography".split())
_TEXT_PARTS = frozenset("content body text entry story main".split())  # author-article-body


def _author_box(attr: str) -> bool:
    """One class name (or the id) names a box about the author: post-author, author_bio,
    aboutauthor. Read name by name: "post author-jane" is a post by Jane, not a bio."""
    for name in attr.lower().split():
        parts = _SEPARATORS.split(name)
        if "".join(parts) in _AUTHOR_BOX_NAMES:
            return True
        if (len(parts) > 1 and not _AUTHOR_WORDS.isdisjoint(parts)
                and not _AUTHOR_BOX_PARTS.isdisjoint(parts) and _TEXT_PARTS.isdisjoint(parts)):
            return True
    return False


@lru_cache(maxsize=50000)
def boilerplate_attr(attr: str) -> bool:
    """Does a 'class id' string name a boilerplate block (nav, ads, related, comments...)?"""
    if _author_box(attr):
        return True
    if _MAYBE.search(attr):
        return False
    if _UNLIKELY.search(attr):
        return True
    return not _BOILER_WORDS.isdisjoint(_SEPARATORS.sub(" ", attr.lower()).split())


_MAX_HIDDEN_CHECKS = 64


def _holds_main_text(el: lxml.html.HtmlElement, page_chars: list[int]) -> bool:
    """Does a hidden element hold most of the page's text? Pages that show their article with a
    script (style="visibility: hidden" until loaded) keep it there. page_chars carries the
    page's text length and the number of checks made (bounded: hostile pages hide a lot)."""
    if not page_chars:
        body = el.getroottree().getroot().find("body")
        page_chars.extend((len("".join(body.itertext()).strip()) if body is not None else 0, 0))
    page_chars[1] += 1
    if page_chars[1] > _MAX_HIDDEN_CHECKS:
        return False
    own = len("".join(el.itertext()).strip())
    return own >= 200 and own >= 0.4 * page_chars[0]


# where a page's comments start: a heading that names them, or the usual anchors
COMMENTS_MARK = "nw-comments"
_COMMENT_IDS = frozenset(("comments", "respond", "disqus_thread", "comments-section",
                          "comment-section", "reader-comments"))
_COMMENT_HEADING = re.compile(
    r"^\s*(?:(?:\d+\s+)?(?:comments?|responses|replies|reader comments)"
    r"|leave a (?:reply|comment)|post a comment|join the discussion"
    r"|\d+\s+(?:responses?|thoughts|comments?|replies) (?:to|on)\b.*"
    r"|网友评论|最新评论|发表评论|评论|精彩评论|读者评论|全部评论)"
    r"\s*(?:\(\d+\)|（\d+）|\d+)?\s*[:：]?\s*$", re.I)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _replace_with_marker(el: lxml.html.HtmlElement) -> None:
    marker = el.makeelement(COMMENTS_MARK, {})
    marker.tail = el.tail
    el.getparent().replace(el, marker)


_IDS_AND_NAMES = etree.XPath("//@id|//a/@name")


def _mark_comments(root: lxml.html.HtmlElement) -> None:
    """Put a marker where the comments start (the heading or anchor itself goes)."""
    starts = [el for el in (v.getparent() for v in _IDS_AND_NAMES(root)
                            if v.lower() in _COMMENT_IDS)
              if not (el.tag == "a" and el.get("href"))]  # a link to the comments
    for el in root.iter(_HEADINGS):
        text = el.text_content()
        # a heading that links to the comments ("<a href=#comments>12 Comments</a>", next to
        # the byline) is not where they start
        if (len(text) < 80 and _COMMENT_HEADING.match(text)
                and not any(a.get("href") for a in el.iter("a"))):
            starts.append(el)
    for el in starts:
        if el.getparent() is not None:
            _replace_with_marker(el)


def drop_from(marker: lxml.html.HtmlElement, top: lxml.html.HtmlElement) -> None:
    """Remove marker and everything after it in document order, up to the end of top."""
    node = marker
    while node is not None and node is not top:
        for later in list(node.itersiblings()):
            node.getparent().remove(later)
        node = node.getparent()
    marker.getparent().remove(marker)


def _cut_comments_before_scoring(root: lxml.html.HtmlElement, min_paragraph: int = 100) -> None:
    """Comments that outscore a short article are no candidate: once a paragraph of prose
    comes before the comments marker, the page after the marker goes."""
    body = root.find("body")
    marker = None if body is None else next(body.iter(COMMENTS_MARK), None)
    if marker is None:
        return
    for el in body.iter("p", COMMENTS_MARK):
        if el is marker:
            return
        if len(" ".join(el.text_content().split())) >= min_paragraph:
            drop_from(marker, body)
            return


def clean_tree(root: lxml.html.HtmlElement, ruthless: bool = True) -> None:
    """Remove junk in place. ruthless=True also drops boilerplate-looking containers.
    Hidden elements go, unless one holds most of the page's text (shown by a script)."""
    etree.strip_elements(root, *JUNK_TAGS, with_tail=False)
    _mark_comments(root)
    if ruthless:
        _cut_comments_before_scoring(root)
    drop = []
    keep = None
    page_chars: list[int] = []
    for el in root.xpath("//*[@class or @id or @style or @hidden or @aria-hidden]"):
        if el.get("hidden") is not None or el.get("aria-hidden") == "true":
            if el.tag not in _KEEP_TAGS and not _holds_main_text(el, page_chars):
                drop.append(el)
            continue
        style = el.get("style")
        if style and _HIDDEN_STYLE.search(style) and not _holds_main_text(el, page_chars):
            drop.append(el)
            continue
        if not ruthless:
            continue
        attr = f"{el.get('class', '')} {el.get('id', '')}"
        if len(attr) < 3 or not boilerplate_attr(attr) or el.tag in _KEEP_TAGS:
            continue
        if keep is None:
            keep = _protected_set(root)
        if el not in keep:
            drop.append(el)
    for el in drop:
        if el.getparent() is not None:
            if next(el.iter(COMMENTS_MARK), None) is not None:
                _replace_with_marker(el)  # the comments' container goes, where they start stays
            else:
                el.drop_tree()


# ----------------------------------------------------------------------------- node -> text
BLOCK_TAGS = frozenset("""
address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6
header hr li main nav ol p pre section table td th tr ul caption center
""".split())


def node_text(node: lxml.html.HtmlElement) -> str:
    """Text of a subtree with a newline at every block boundary (not yet normalised)."""
    parts: list[str] = []
    append = parts.append
    for event, el in etree.iterwalk(node, events=("start", "end")):
        tag = el.tag
        if not isinstance(tag, str):
            if event == "end" and el is not node and el.tail:
                append(el.tail)
            continue
        block = tag in BLOCK_TAGS
        if event == "start":
            if block:
                append("\n")
            if el.text:
                append(el.text)
        else:
            if block:
                append("\n")
            if el is not node and el.tail:
                append(el.tail)
    return "".join(parts)
