"""Two outlets publishing the same three DeepSeek stories, one in Chinese and one in English
(written for the tests), served by real local sites; and a story whose only "entity" is an
ordinary word.

``STORIES``: (key, zh title, zh paragraphs, en title, en paragraphs, published). The three are
near misses of each other (same company, different news), so grouping must tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.localsite import LocalSite
from tests.pages import article_html, listing_html

STORIES = [
    ("v31",
     "深度求索发布DeepSeek-V3.1模型，API调用价格下调一半",
     ["深度求索今天发布了新版大模型DeepSeek-V3.1，上下文长度扩展到12.8万个词元，并同时把开放平台的API调用价格下调一半。",
      "公司表示，新版本在编程和工具调用任务上的成绩比上一版提高了约百分之十五，模型权重将在开源社区同步发布。",
      "多家云服务商当天宣布接入新模型。分析人士认为，这次降价会给国内其他大模型厂商带来新的价格压力。"],
     "DeepSeek releases its V3.1 model and halves API prices",
     ["DeepSeek on Thursday released DeepSeek-V3.1, a new version of its large language model with a 128,000-token context window, and cut the price of its API by half.",
      "The company said the new version scores about 15 percent higher than its predecessor on coding and tool-use tasks, and that the weights will be published as open source.",
      "Several cloud providers said they would offer the model the same day. Analysts expect the price cut to put pressure on other Chinese model makers."],
     "2026-09-03T09:00:00+08:00"),
    ("3fs",
     "深度求索开源周最后一天：开源分布式文件系统3FS",
     ["在为期五天的开源周最后一天，深度求索开源了自研的分布式文件系统3FS，以及配套的数据处理框架Smallpond。",
      "据介绍，3FS专为人工智能训练和推理设计，利用固态硬盘和RDMA网络，在一个180个节点的集群上实现了每秒6.6TB的读取吞吐。",
      "开发者普遍认为，这些底层工具展示了公司在训练基础设施上的积累，有助于其他团队降低大模型训练成本。"],
     "DeepSeek open-sources its 3FS file system on the last day of Open Source Week",
     ["On the fifth and final day of its Open Source Week, DeepSeek released 3FS, its in-house distributed file system, together with Smallpond, a data processing framework built on it.",
      "3FS is designed for AI training and inference workloads. Using SSDs and RDMA networking, it reached a read throughput of 6.6 TB per second on a 180-node cluster, the company said.",
      "Developers said the tools show how much work the company has put into its training infrastructure and could help other teams cut the cost of training large models."],
     "2026-09-03T15:00:00+08:00"),
    ("appstore",
     "DeepSeek应用登顶美国苹果应用商店免费榜",
     ["深度求索推出的智能助手应用DeepSeek周一登上美国苹果应用商店免费应用排行榜第一名，超过了ChatGPT。",
      "这款应用上线不到一个月，下载量增长主要来自用户在社交媒体上的口碑传播。受此消息影响，多只美国芯片股当天下跌。",
      "有用户反映，由于访问量激增，应用的注册功能一度暂停，公司称正在扩容服务器。"],
     "DeepSeek's assistant app tops the US App Store's free chart",
     ["DeepSeek's AI assistant app climbed to the top of the free apps chart on Apple's US App Store on Monday, overtaking ChatGPT.",
      "The app launched less than a month ago, and its downloads grew mostly by word of mouth on social media. Several US chip stocks fell on the news.",
      "Some users said sign-ups were paused for a while because of the surge in traffic; the company said it was adding servers."],
     "2026-09-04T10:00:00+08:00"),
]

ORDINARY = ("The R1 ring road closes for repairs this weekend",
            ["Drivers should expect delays on the R1 ring road on Saturday and Sunday while crews resurface two lanes near the river bridge.",
             "The city council said buses will take the old route through the centre, and that the works should end before the Monday rush hour."])


def zh_page(i: int) -> str:
    _, title, paragraphs, _, _, published = STORIES[i]
    return article_html(title, paragraphs, lang="zh", published=published)


def en_page(i: int) -> str:
    _, _, _, title, paragraphs, published = STORIES[i]
    return article_html(title, paragraphs, lang="en", published=published,
                        sidebar="Most read: phone launch; quarterly results",
                        ad="Subscribe for the newsletter!")


@contextmanager
def two_outlets() -> Iterator[tuple[LocalSite, LocalSite]]:
    """A Chinese and an English outlet, each publishing the three stories under /news/."""
    zh, en = LocalSite(), LocalSite()
    try:
        for site, page in ((zh, zh_page), (en, en_page)):
            links = [f"/news/{key}.html" for key, *_ in STORIES]
            site.set("/", listing_html(links))
            for i, link in enumerate(links):
                site.set(link, page(i))
        yield zh, en
    finally:
        zh.close()
        en.close()
