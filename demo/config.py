"""The newswatch config for the demo outlet: two outlets on one local server, and two watches.

``demo-ai`` crawls the listing page /ai/ and the RSS feed; ``demo-wire`` crawls /wire/, which
links only to the republished copy under /syndication/, so one story reaches the store from two
outlets. Both ``revisit: always``: the demo's "two days later" is seconds later, and every
listed article is rechecked on every crawl, so the edit shows at once.
"""

from __future__ import annotations

from typing import Any


def demo_config(base_url: str) -> dict[str, Any]:
    """A config mapping (the shape of newswatch.yaml) for a demo server at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "outlets": [
            {
                "name": "demo-ai",
                "start_urls": [base + "/ai/"],
                "feeds": [base + "/rss.xml"],
                "sitemaps": [],
                "article_url": r"/news/\d{4}/",
                "render": "never",
                "revisit": "always",
            },
            {
                "name": "demo-wire",
                "start_urls": [base + "/wire/"],
                "feeds": [],
                "sitemaps": [],
                "article_url": r"/syndication/",
                "render": "never",
                "revisit": "always",
            },
        ],
        "watches": [
            {
                "name": "qwen",
                "terms": ["通义千问", "Qwen"],
                "all": [],
                "exclude": ["招聘"],
                "regex": [],
                "outlets": [],
                "notify": [],
            },
            {
                "name": "gpt4",
                "terms": [],
                "all": [],
                "exclude": [],
                "regex": [r"GPT-?4o?\b"],
                "outlets": ["demo-ai"],
                "notify": [],
            },
        ],
    }
