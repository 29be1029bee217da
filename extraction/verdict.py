"""'Is this an article at all?': skip reasons (not html, empty, loading notice, too short)
and the signs that a page plainly needs a browser to show its text."""

from __future__ import annotations

import re

import lxml.html

_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
                 b"RIFF", b"\x00\x00\x01\x00", b"BM", b"OggS", b"ID3", b"\x7fELF", b"Rar!")
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or b > 13)
_TAGLIKE = re.compile(rb"<\s*[a-zA-Z!/?]")
_LOADING = re.compile(
    r"^(?:加载中|正在加载|载入中|页面加载中|努力加载中|数据加载中|loading|please wait|请稍候|请稍后"
    r"|请(?:开启|启用|打开|允许)\s*javascript|(?:you )?need to enable javascript.*|enable javascript.*"
    r"|javascript (?:is )?(?:required|disabled).*|此网站需要\s*javascript.*|您的浏览器.*javascript.*"
    r"|checking your browser.*|just a moment)[\s.。…·!！]*$", re.I)
_JS_NOTICE = re.compile(r"javascript|启用\s*js|开启\s*js", re.I)
_APP_ROOT_IDS = ("app", "root", "__next", "__nuxt", "___gatsby", "app-root", "main-app", "svelte")
_APP_ROOT_XPATH = "//body//*[" + " or ".join(f"@id='{i}'" for i in _APP_ROOT_IDS) + "]"
_INLINE_STATE = ("__NEXT_DATA__", "__INITIAL_STATE__", "__NUXT__", "__APOLLO_STATE__",
                 "__PRELOADED_STATE__", "__INITIAL_DATA__", "window.__DATA__", "__remixContext")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
MIN_MEANINGFUL = 50
# a page that is plainly an article (headline, date, text in one block) is kept down to this
MIN_ARTICLE = 12
# comment widgets (Disqus, Livefyre, site comment boxes) ask for JavaScript for the comments only
_COMMENT_WIDGET = re.compile(r"comment|disqus|livefyre|reply|replies|pinglun|评论|留言|跟帖", re.I)


def not_html(body: bytes) -> bool:
    """Binary or clearly non-HTML bytes (a PDF, an image, NUL-ridden data, JSON/plain text)."""
    head = body[:2048]
    if head.startswith(_BINARY_MAGIC):
        return True
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    ctrl = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if ctrl > len(head) // 20:
        return True
    return not _TAGLIKE.search(body[:65536])


def meaningful_size(text: str, limit: int = 3000) -> int:
    """CJK/kana/hangul characters plus other words: a size that means about the same in
    Chinese, Japanese, Korean and alphabetic languages. Counts the first `limit` characters
    only: callers compare it with small thresholds."""
    text = text[:limit]
    return len(_CJK.findall(text)) + len(_WORD.findall(text))


def is_loading_notice(text: str) -> bool:
    lines = [x for x in text.split("\n") if x.strip()]
    return bool(lines) and len(lines) <= 4 and all(_LOADING.match(x.strip()) for x in lines)


def skip_reason(text: str, plainly_article: bool = False) -> str | None:
    """Why the text is no article; a short text passes when the page is plainly an article
    (a brief: headline, date and a few sentences)."""
    if not text.strip():
        return "empty"
    if is_loading_notice(text):
        return "loading notice"
    if meaningful_size(text) < (MIN_ARTICLE if plainly_article else MIN_MEANINGFUL):
        return "too short"
    return None


def _in_comment_widget(el: lxml.html.HtmlElement) -> bool:
    if _COMMENT_WIDGET.search(el.text_content() or ""):
        return True
    for anc in el.iterancestors():
        if _COMMENT_WIDGET.search(f"{anc.get('class', '')} {anc.get('id', '')}"):
            return True
    return False


def browser_signals(root: lxml.html.HtmlElement, raw_html: str, text_len: int) -> str | None:
    """Why the page looks script-rendered, judged on the tree before scripts are removed.
    Inline JSON state only counts when it is much bigger than the text we found."""
    for el in root.iter("noscript"):
        if _JS_NOTICE.search(el.text_content() or "") and not _in_comment_widget(el):
            return "noscript asks for JavaScript"
    for el in root.xpath(_APP_ROOT_XPATH):
        if not "".join(el.itertext()).strip():
            return f"empty app root #{el.get('id')}"
    for marker in _INLINE_STATE:
        pos = raw_html.find(marker)
        if pos >= 0:
            end = raw_html.find("</script>", pos)
            size = (end if end > 0 else len(raw_html)) - pos
            if size > 3 * text_len + 200:
                return f"text only in inline JSON ({marker.strip('_')})"
    return None
