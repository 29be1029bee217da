"""newswatch: a web scraper and change monitor for AI news (Chinese and English outlets).

One installable package; each concern is a subpackage whose folder sits at the top of the
repository (``crawler/`` is ``newswatch.crawler``, ``alembic/`` is ``newswatch.migrations``; see
``pyproject.toml``). Data flows one way: fetch -> extract -> store -> match -> notify
(docs/ARCHITECTURE.md).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newswatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
