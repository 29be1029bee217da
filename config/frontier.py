"""The shared frontier's Redis URL: ``$NEWSWATCH_REDIS_URL``, else the config's ``redis:``,
else None (every crawl runs in its own process, no Redis).

Only ``redis://``, ``rediss://`` (TLS) and ``unix://`` URLs are accepted; a password in the URL
is best written ``${VAR}`` (expanded and masked like any secret) and never printed.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

REDIS_ENV = "NEWSWATCH_REDIS_URL"
_SCHEMES = ("redis", "rediss", "unix")


def redis_url(written: Any, check: Any) -> str | None:
    """The URL to use: the environment's, else ``written`` (the ``redis:`` key) checked by
    ``check`` (a ``config.checker.Checker``); None when neither is set."""
    env = os.environ.get(REDIS_ENV)
    if env:
        if urlsplit(env).scheme not in _SCHEMES:
            raise check.error("", f"${REDIS_ENV}: bad Redis URL (need redis://, rediss:// or "
                                  "unix://)")
        return env
    if written is None or written == "":
        return None
    url = check.string(written, "redis").strip()
    if urlsplit(url).scheme not in _SCHEMES:
        raise check.error("redis", "bad Redis URL (need redis://, rediss:// or unix://, "
                                   "e.g. redis://127.0.0.1:6379/0)")
    return url
