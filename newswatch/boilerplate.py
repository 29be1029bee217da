"""The one list of boilerplate lines: credits, sources, disclaimers, share prompts, page chrome.

A short line (at most :data:`MAX_CHARS` characters) that matches :data:`BOILERPLATE_LINE` is not
story text. Extraction drops such lines from a page's text (``extraction.postfilter``); storage
leaves them out of the near-duplicate fingerprint (``storage.fingerprint``), because reprints
add or change exactly these lines. Add a pattern here and both follow.
"""

from __future__ import annotations

import re

__all__ = ["BOILERPLATE_LINE", "MAX_CHARS", "is_boilerplate_line"]

MAX_CHARS = 90
"""Longer lines are story text whatever they start with."""

_CREDIT_WORDS = (
    r"来源|來源|文章来源|稿件来源|图片来源|出处|转载|轉載|原标题|原標題|原文链接|原文|责任编辑|責任編輯|"
    r"编辑|編輯|责编|撰文|审核|校对|source|via|editor|edited by|credit"
)

BOILERPLATE_LINE = re.compile(
    r"^(?:"
    # --- credits and notices that reprints add: "来源：新华社", "责任编辑 | 张三", "Source: Reuters"
    # (a credit is a label and a short name, not a sentence: "记者：请问..." in an interview stays)
    rf"\W{{0,3}}(?:(?:{_CREDIT_WORDS})\s*[:：丨|/][^。？！?!，,；;]{{0,40}}$"
    r"|本文转载|本文轉載|本文来自|本文來自|本文转自|转载请|轉載請|本文仅代表|本文僅代表|免责声明|免責聲明|"
    r"版权声明|版權聲明|版权所有|版權所有|声明：|聲明：|©|\(c\)|copyright\b|disclaimer\s*[:：]|all rights reserved)"
    # --- editor credits and labels
    r"|(?:责任编辑|编辑|责编|审核|校对|值班编辑|排版|监制|策划|图片编辑|实习编辑|编审)\s*[:：]"
    r"|[\[【(（]?\s*(?:责任编辑|编辑|责编)\s*[:：]?\s*[^\s]{1,12}\s*[\]】)）]?$"
    r"|(?:本文|文章|新闻|信息|稿件|内容)?来源\s*[:：]"
    r"|(?:原标题|关键词|关键字|标签|tags?)\s*[:：]"
    # --- copyright and reprint notices anywhere in the line
    r"|.*(?:版权所有|版权归|版权声明|免责声明|未经(?:授权|许可|同意)|不得转载|禁止转载|转载请注明|转载须注明"
    r"|请勿转载|如有侵权|侵权请联系|侵删|All [Rr]ights [Rr]eserved|Copyright\s|©)"
    # --- share / app prompts and page chrome
    r"|(?:分享到|分享至|扫一扫|扫描二维码|长按识别|关注我们|点击关注|关注公众号|下载(?:客户端|APP|App)"
    r"|打开(?:APP|App|客户端)|上一篇|下一篇|返回顶部|返回首页|打印本页|关闭窗口|【?字号|字体[:：]?\s*[大中小]"
    r"|举报|收藏|点赞|评论\s*\d*$|阅读\s*\d+|浏览\s*[:：]?\s*\d+|\d+\s*人(?:阅读|浏览|参与))"
    r"|(?:相关阅读|相关文章|相关新闻|推荐阅读|延伸阅读|热门推荐|猜你喜欢|热点推荐|热门文章|热门新闻"
    r"|精彩推荐|更多精彩|大家都在看|排行榜|热门排行|阅读排行|网友评论|最新评论|发表评论|友情链接)\s*[:：>》]?\s*$"
    r"|[\[【(（]?(?:打印|关闭|收藏|推荐给朋友|打印本文|关闭窗口)[\]】)）]?$"
    r"|广告$|Advertisement$|ADVERTISEMENT$|Sponsored$"
    # inline ad labels: "【广告】...", "推广：...", "[Ad] ..."
    r"|[\[【(<]?\s*(?:广告|推广|赞助|Advertisement|Sponsored)\s*[\]】)>]?\s*[:：|丨·▼▲\-]\s*[^。！？.!?]{0,40}$"
    r"|[\[【(]\s*(?:广告|推广|Ad|AD)\s*[\]】)].{0,40}$"
    r"|第\s*\d+\s*页\s*/?\s*共\s*\d+\s*页|.*(?:上一页|下一页)|.*已被(?:阅读|浏览)\s*\d+\s*次|.*Trackback"
    # --- picture credits, tags, citations
    r"|(?:Photo|Photograph|Image|Picture|Credit|Source)s?(?: credit)?\s*:\s*[^.]{0,60}$|.{0,300}Credit:\s*[^.]{0,60}$"
    r"|(?:Citation|Tags|Topics)\s*:?\s*$|This document is subject to copyright"
    r"|(?:Share|Share this|Share on|Tweet|Email|Print|Comments?|Related|Read more|Read More|"
    r"Sign up|Subscribe|Follow us|Click here|Most popular|Recommended)\b[^.!?]{0,40}$"
    r")",
    re.IGNORECASE,
)


def is_boilerplate_line(line: str) -> bool:
    """True for a short line that credits, disclaims or navigates rather than tells the story."""
    line = line.strip()
    return len(line) <= MAX_CHARS and BOILERPLATE_LINE.match(line) is not None
