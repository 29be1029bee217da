"""Scrapy settings for a newswatch crawl, derived from the config's ``politeness`` section."""

from __future__ import annotations

from typing import Any

from newswatch import __version__
from newswatch.config import Config


def user_agent(config: Config) -> str:
    return config.politeness.user_agent or (
        f"Mozilla/5.0 (compatible; newswatch/{__version__}; AI news monitor; "
        "+https://github.com/newswatch/newswatch)"
    )


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run",
                 # no software GL fallback in the GPU process: -15 MB (render_memory.py). Not
                 # --renderer-process-limit: a page stuck in a script would stall its neighbours
                 "--disable-software-rasterizer"]


def browser_settings(config: Config) -> dict[str, Any]:
    """scrapy-playwright for rendered requests only (crawler/browser.py; which ones: crawler/render.py)."""
    from newswatch.crawler.chromium import chromium_path

    b = config.browser
    chromium = chromium_path(b)
    return {
        "DOWNLOAD_HANDLERS": {"http": "newswatch.crawler.browser.BrowserDownloadHandler",
                              "https": "newswatch.crawler.browser.BrowserDownloadHandler"},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": chromium, "headless": True,
                                      "args": CHROMIUM_ARGS, "timeout": b.timeout * 1000},
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": b.max_pages,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": b.timeout * 1000,
        "PLAYWRIGHT_ABORT_REQUEST": "newswatch.crawler.chromium.is_blocked",
        "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
        "NEWSWATCH_CHROMIUM": chromium,
        "NEWSWATCH_BROWSER_TIMEOUT": b.timeout,
        "NEWSWATCH_BROWSER_RESTART_AFTER": b.restart_after,
    }


_REMOTE_CONTROL = "scrapy.extensions.remote_control.RemoteControl"


def _extensions_base() -> dict[str, int]:
    """Scrapy's built-in extensions without its remote control: off in any case (below), and
    not imported either (its aiohttp web server: ~95 modules, 0.13-0.19 s of every crawl
    process's start). Dropped from the base list: a None for it in EXTENSIONS would import
    it all the same (Scrapy loads those keys to compare them)."""
    from scrapy.settings import default_settings

    return {k: v for k, v in default_settings.EXTENSIONS_BASE.items() if k != _REMOTE_CONTROL}


def scrapy_settings(config: Config, log_level: str = "WARNING") -> dict[str, Any]:
    p = config.politeness
    return browser_settings(config) | {
        "BOT_NAME": "newswatch",
        "USER_AGENT": user_agent(config),
        "ROBOTSTXT_OBEY": p.obey_robots,
        "CONCURRENT_REQUESTS": max(32, p.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrency_per_domain,
        "CONCURRENT_ITEMS": 4,  # one item per article page; Scrapy starts this many tasks a response
        "DOWNLOAD_DELAY": p.download_delay,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(p.download_delay, 0.5),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": max(1.0, p.concurrency_per_domain / 2),
        "DOWNLOAD_TIMEOUT": p.timeout,
        "DNS_TIMEOUT": min(p.timeout, 20),
        "DOWNLOAD_MAXSIZE": p.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": 10,
        "RETRY_ENABLED": p.retries > 0,
        "RETRY_TIMES": p.retries,
        "RETRY_HTTP_CODES": [408, 429, 500, 502, 503, 504, 522, 524],
        "RETRY_BACKOFF_BASE": 0.5,
        "NEWSWATCH_MAX_RETRY_AFTER": p.max_retry_after,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "newswatch.crawler.metarefresh.SniffingMetaRefreshMiddleware": 580,
            "newswatch.crawler.retry.BackoffRetryMiddleware": 550,
            "newswatch.crawler.conditional.ConditionalRequestMiddleware": 580,
            "newswatch.crawler.hosts.HostLimitMiddleware": 990,  # last: right before the download
        },
        "EXTENSIONS_BASE": _extensions_base(),
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            "newswatch.crawler.throttle.ConditionalAwareAutoThrottle": 0,
            "newswatch.crawler.render.RenderPolicy": 500,  # saves "needs the browser" per outlet
        },
        "ITEM_PIPELINES": {
            "newswatch.crawler.pipelines.ExtractPipeline": 300,
            "newswatch.crawler.pipelines.LeadPipeline": 350,
            "newswatch.crawler.pipelines.StorePipeline": 400,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        # no listening socket of our own: the telnet console and Scrapy 2.19's remote-control
        # server (arbitrary Python over HTTP, its token in a job file under ~/.local/state)
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOGSTATS_INTERVAL": 0,
    }
