"""Small article pages for crawl tests, with the boilerplate real outlets put around a story."""

from __future__ import annotations

import random

ZH_PARAGRAPHS = [
    "人工智能公司今日发布了新一代大语言模型，该模型在推理、编程和多语言理解方面均有明显提升。",
    "研究团队表示，新模型使用了更大规模的中文语料进行训练，并针对长文本场景做了专门优化。",
    "业内专家认为，国产大模型正在从参数竞赛转向应用落地，企业客户更关心成本与可靠性。",
    "据介绍，该模型将首先向开发者开放接口，并计划在下个季度接入办公、搜索和客服等产品。",
]

EN_PARAGRAPHS = [
    "The lab released a new language model on Tuesday, claiming large gains in reasoning and code.",
    "Researchers said the model was trained on a broader multilingual corpus than its predecessor.",
    "Analysts expect enterprise customers to focus on cost and reliability rather than raw size.",
    "The company plans to open an API to developers first and bring the model to its products later.",
]


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    meta_charset: str | None = None,
    lang: str = "zh",
    published: str = "2026-09-01T08:00:00+08:00",
    sidebar: str = "热门排行：某某公司发布财报；手机新品上市",
    ad: str = "下载APP，领取新人红包！",
) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head>{meta}<title>{title} - 测试科技网</title>
<meta property="article:published_time" content="{published}">
</head><body>
<div class="nav"><a href="/">首页</a> <a href="/ai/">人工智能</a> <a href="/about.html">关于我们</a></div>
<div class="ad">{ad}</div>
<div class="article"><h1>{title}</h1>
<div class="info">2026年09月01日 08:00 来源：测试科技网 作者：张三</div>
{body}
</div>
<div class="hot"><h3>热门排行</h3><ul><li><a href="/tag/hot1">{sidebar}</a></li></ul></div>
<div class="related"><h3>相关阅读</h3><ul><li><a href="/tag/x">另一篇无关文章的标题</a></li></ul></div>
<div class="footer">版权所有 © 2026 测试科技网 未经授权禁止转载 友情链接：<a href="/links">某网站</a></div>
</body></html>"""


def listing_html(links: list[str]) -> str:
    items = "\n".join(f'<li><a href="{href}">link {i}</a></li>' for i, href in enumerate(links))
    return f"<html><head><meta charset='utf-8'><title>AI</title></head><body><ul>{items}</ul></body></html>"


CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
         "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点")


def distinct_paragraphs(seed: int) -> list[str]:
    """Four paragraphs of text no other seed shares (so each page is its own story)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(CHARS) for _ in range(70)) + "。" for _ in range(4)]
