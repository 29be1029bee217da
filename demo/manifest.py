"""What the demo outlet serves: every article page, how it is encoded and labelled, and what
changes in version 2 of the site.

Sources are UTF-8 files under ``demo/site/`` (bodies in ``articles/``, page chrome in ``layouts/``
and ``fragments/``); :mod:`demo.render` fills the layout and encodes the page with
``Article.encoding`` when it is served, so the bytes on the wire really are GBK, GB18030 or Big5.
``content_type`` is the Content-Type header exactly as sent (it may omit or misstate the charset)
and ``charset_meta`` is the in-page declaration ("" means none at all).

Validators: "both" sends ETag and Last-Modified, "etag" / "last-modified" only one, "none" neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))
SITE_NAME = "AI前哨网"
ARTICLE_DIR = "/news/2026/"

# When each version of the site went live: the Last-Modified of anything that changed in it.
VERSION_TIMES: dict[int, datetime] = {
    1: datetime(2026, 3, 21, 9, 0, tzinfo=CST),
    2: datetime(2026, 3, 23, 9, 0, tzinfo=CST),
}
VERSIONS = tuple(sorted(VERSION_TIMES))

META_UTF8 = '<meta charset="utf-8">'
META_GB2312 = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
META_GBK = '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
META_GB18030 = '<meta charset="gb18030">'
META_BIG5 = '<meta http-equiv="Content-Type" content="text/html; charset=big5">'


@dataclass(frozen=True)
class Change:
    """An edit that takes effect from a given version on."""

    sidebar: str | None = None  # swap the sidebar fragment (boilerplate-only change)
    insert_after: str | None = None  # body text the new sentence follows (a real edit)
    text: str = ""


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    summary: str
    author: str
    published: datetime
    layout: str
    encoding: str
    content_type: str
    charset_meta: str
    keywords: str = "人工智能,大模型"
    date_style: str = "dash"  # dash | cn | slash | seconds
    source_name: str = SITE_NAME
    editor: str = "周宁"
    views: int = 1000
    sidebar: str = "sidebar_v1"
    related: tuple[str, ...] = ()
    comments: tuple[tuple[str, str], ...] = ()
    paywall: bool = False
    path: str = ""  # default /news/2026/<slug>.html
    body: str = ""  # file in site/articles/, default <slug>.html
    copy_of: str = ""  # slug of the original when this is a republished copy
    source_line: str = ""
    disclaimer: str = ""
    on_index: bool = True  # linked from /ai/
    on_wire: bool = False  # linked from /wire/
    in_feed: bool = False  # item in /rss.xml
    in_sitemap: bool = True
    since: int = 1  # first version of the site that has it
    changes: dict[int, Change] = field(default_factory=dict)
    validators: str = "both"

    @property
    def url_path(self) -> str:
        return self.path or f"{ARTICLE_DIR}{self.slug}.html"

    @property
    def body_file(self) -> str:
        return f"articles/{self.body or self.slug + '.html'}"


def _t(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=CST)


ARTICLES: tuple[Article, ...] = (
    Article(
        slug="gpt4-multimodal",
        title="GPT-4发布三周年：多模态如何改变了国内AI应用",
        summary="三年前GPT-4第一次让大模型“看懂”图片，如今多模态已成为国内应用的标准配置，但幻觉问题仍未根治。",
        keywords="GPT-4,多模态,OpenAI,大模型",
        author="林晓舟",
        published=_t(2026, 3, 15, 9, 30),
        layout="portal",
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        charset_meta=META_UTF8,
        views=12873,
        related=("tongyi-qianwen-beta", "wenxin-yiyan-enterprise", "open-source-models"),
        comments=(("深蓝鲸鱼", "三年前还觉得识图是噱头，现在公司报销单都靠它录入了。"),
                  ("算法打工人", "幻觉这一段说得很实在，复核一步都省不掉。")),
        in_feed=True,
    ),
    Article(
        slug="tongyi-qianwen-beta",
        title="通义千问开放企业内测，阿里称全线产品将接入大模型",
        summary="阿里云宣布通义千问面向企业客户开放新一轮内测，钉钉、天猫精灵率先接入。",
        keywords="通义千问,阿里云,钉钉,大模型",
        author="陈思远",
        published=_t(2026, 3, 16, 10, 5),
        layout="portal",
        encoding="gbk",  # declared gb2312 in the page, but names like 王堃 and 刘喆 need GBK
        content_type="text/html",
        charset_meta=META_GB2312,
        date_style="cn",
        views=8421,
        related=("gpt4-multimodal", "model-price-war", "ai-agent-paywall"),
        comments=(("杭州小码农", "内测名额怎么申请？官网没找到入口。"),
                  ("老王说科技", "私有化部署才是企业客户真正关心的。"),
                  ("路人甲", "先看商用价格再说。")),
        in_feed=True,
        validators="last-modified",
    ),
    Article(
        slug="wenxin-yiyan-enterprise",
        title="文心一言企业版升级，行业大模型一次发布多款",
        summary="百度发布文心一言企业版升级，推出面向金融、能源、制造和零售的行业大模型。",
        keywords="文心一言,百度,千帆,行业大模型",
        author="赵一鸣",
        published=_t(2026, 3, 17, 15, 40),
        layout="portal",
        encoding="gb18030",  # the body has 𠮷 and 䶮, which GBK cannot encode
        content_type="text/html; charset=GB18030",
        charset_meta=META_GB18030,
        views=6530,
        related=("tongyi-qianwen-beta", "model-price-war"),
        comments=(("北京的风", "生僻字那段有意思，很多系统连名字都存不进去。"),),
        in_feed=True,
        validators="etag",
    ),
    Article(
        slug="digital-human-livestream",
        title="數字人主播連播七小時：一場直播帶貨實驗",
        summary="杭州一家電商服務公司讓數字人主播連續直播七小時，成交額約為真人主播同時段的六成。",
        keywords="數字人,直播,電商,大模型",
        author="王若琳",
        published=_t(2026, 3, 18, 20, 15),
        layout="portal_tw",
        encoding="big5",
        content_type="text/html; charset=big5",
        charset_meta=META_BIG5,
        date_style="cn",
        sidebar="sidebar_tw",
        views=3312,
        related=("gpt4-multimodal", "model-price-war"),
        comments=(("台北阿明", "深夜時段用數字人確實合理。"),
                  ("小美", "被追問細節就露餡了，哈哈。")),
    ),
    Article(
        slug="ai-chip-compute",
        title="大模型芯片争夺战：国产算力卡出货翻番，交付排到三个月后",
        summary="国产AI算力卡出货量大幅增长，推理环节已基本可以替代进口芯片，软件生态仍是最大短板。",
        keywords="算力,芯片,昇腾,智算中心",
        author="孙浩然",
        published=_t(2026, 3, 19, 8, 50),
        layout="magazine",
        encoding="utf-8",
        content_type="text/html",  # and no <meta> either: nothing declares the charset
        charset_meta="",
        date_style="slash",
        views=5120,
        related=("model-price-war", "open-source-models"),
        comments=(("显卡收藏家", "软件生态那段说到点子上了。"),
                  ("西部机房运维", "电费确实是大头。")),
        in_feed=True,
        changes={2: Change(
            insert_after="推理环节已经基本可以替代”。",
            text="另据知情人士透露，阿里云已在国产算力集群上完成了通义千问新版本的训练验证，"
                 "这是国内首个在国产芯片上完成全流程训练的千亿参数模型。",
        )},
    ),
    Article(
        slug="model-price-war",
        title="百万tokens不到一块钱：大模型降价潮背后的账本",
        summary="国内主要大模型厂商接连下调API价格，降价背后既有技术进步，也有对市场份额的争夺。",
        keywords="大模型,价格战,API,推理成本",
        author="李明哲",
        published=_t(2026, 3, 20, 10, 12, 33),
        layout="coin",
        encoding="gbk",
        content_type="text/html; charset=iso-8859-1",  # wrong: the bytes are GBK, the meta says so
        charset_meta=META_GBK,
        date_style="seconds",
        views=401,
        related=("tongyi-qianwen-beta", "ai-chip-compute"),
        comments=(("币圈老韭菜", "降价是好事，就怕哪天突然涨回去。"),),
        validators="none",
        changes={2: Change(sidebar="sidebar_v2")},
    ),
    Article(
        slug="ai-agent-paywall",
        title="深度｜智能体元年：谁在为AI Agent买单",
        summary="今年一季度国内智能体相关融资超过四十起，但真正跑通商业闭环的公司很少。",
        keywords="智能体,AI Agent,融资,商业模式",
        author="何静",
        published=_t(2026, 3, 21, 7, 30),
        layout="magazine",
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        charset_meta=META_UTF8,
        date_style="slash",
        views=2210,
        related=("model-price-war", "tongyi-qianwen-beta"),
        comments=(("产品经理小刘", "第三类模式确实最难谈。"),),
        paywall=True,
        in_feed=True,
    ),
    Article(
        slug="open-source-models",
        title="开源大模型追赶闭源：参数、数据与社区的三重博弈",
        summary="开源大模型在多项评测中接近闭源模型，开放权重、中文数据和社区生态成为竞争关键。",
        keywords="开源,大模型,权重,社区",
        author="林晓舟",
        published=_t(2026, 3, 14, 18, 0),
        layout="portal",
        encoding="utf-8",
        content_type="text/html; charset=UTF-8",
        charset_meta='<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
        views=4388,
        related=("gpt4-multimodal", "ai-chip-compute"),
        comments=(("开源爱好者", "数据不出厂，这是底线，说得好。"),),
    ),
    # The same story republished by a wire site (outlet demo-wire), with a source line on top
    # and a disclaimer at the bottom.
    Article(
        slug="open-source-models-wire",
        copy_of="open-source-models",
        path="/syndication/open-source-models.html",
        title="开源大模型追赶闭源：参数、数据与社区的三重博弈",
        summary="开源大模型在多项评测中接近闭源模型。",
        author="林晓舟",
        published=_t(2026, 3, 15, 8, 20),
        layout="wire",
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        charset_meta=META_UTF8,
        date_style="seconds",
        editor="小智",
        sidebar="sidebar_wire",
        source_line="来源：AI前哨网 转载请注明出处",
        disclaimer="声明：本文转载自AI前哨网，版权归原作者所有，文章观点不代表本站立场。如有侵权请联系删除。",
        on_index=False,
        on_wire=True,
        in_sitemap=False,
    ),
    # Linked from /ai/ but under /private/, which robots.txt disallows.
    Article(
        slug="secret",
        path="/private/news/2026/secret.html",
        title="内部草稿：某厂商新一代推理模型发布会安排（请勿外传）",
        summary="内部草稿，请勿外传。",
        author="编辑部",
        published=_t(2026, 3, 20, 22, 0),
        layout="magazine",
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        charset_meta=META_UTF8,
        body="private-secret.html",
        in_sitemap=False,
    ),
    # New in version 2.
    Article(
        slug="ai-phone-assistant",
        title="端侧大模型上手机：AI助手会取代应用商店吗",
        summary="三家国内头部手机厂商发布搭载端侧大模型的新机型，AI助手跨应用操作引发新的博弈。",
        keywords="端侧大模型,手机,AI助手",
        author="陈思远",
        published=_t(2026, 3, 22, 11, 0),
        layout="magazine",
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        charset_meta=META_UTF8,
        date_style="slash",
        views=980,
        related=("gpt4-multimodal", "ai-agent-paywall"),
        in_feed=True,
        since=2,
    ),
)

BY_SLUG = {a.slug: a for a in ARTICLES}
BY_PATH = {a.url_path: a for a in ARTICLES}

# Pages that are not articles. Listing pages are built from ARTICLES by demo.render.
TAGS = ("大模型", "芯片", "数字人", "智能体")
STATIC_PAGES = {"/about.html": "pages/about.html"}
AD_PREFIX = "/ads/"  # any /ads/<name>.html is an ad creative
HTML_UTF8 = "text/html; charset=utf-8"
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)  # Last-Modified of pages that never change


def articles_at(version: int) -> list[Article]:
    """Articles that exist in this version of the site, newest first."""
    live = [a for a in ARTICLES if a.since <= version]
    return sorted(live, key=lambda a: a.published, reverse=True)
