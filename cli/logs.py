"""The command line's log: one line a record on stderr (rich on a terminal, ``LEVEL name:
message`` when piped), at one of three verbosities.

* ``quiet`` (``-q``): warnings and errors only.
* ``normal``: also the INFO lines of the loggers a command names (the daemon: its crawl
  start/end and delivery lines; a crawl: none, its INFO lines are per page).
* ``verbose`` (``-v``): every newswatch INFO line (every page: fetched, 304, new, changed,
  unchanged, duplicate, skipped and why) and other libraries' tracebacks.

Every line is masked (``newswatch/secrets.py``): no expanded ``${VAR}`` value of the config
shows, whichever library logs it. Other libraries' (Scrapy, Twisted) warnings and errors always show, in one line each unless
verbose; Scrapy's robots.txt and retry middlewares giving up on a request are left to the
spider, which says it once per unreachable host (verbose shows them all).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from rich.console import Console

from newswatch.errors import first_line
from newswatch.secrets import RedactingFilter

Verbosity = Literal["quiet", "normal", "verbose"]

TOLD_BY_THE_SPIDER = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry")
"""Loggers whose failures the spider reports itself, one line per host or page."""


def verbosity(verbose: bool, quiet: bool) -> Verbosity:
    return "verbose" if verbose else "quiet" if quiet else "normal"


def _own(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


class LogFilter(logging.Filter):
    """Which records a command shows, and in how many lines (see the module docstring)."""

    def __init__(self, level: Verbosity, info_from: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.verbose = level == "verbose"
        self.info_from = ("newswatch",) if self.verbose else () if level == "quiet" else info_from

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return False
        if record.levelno < logging.WARNING:
            return _own(record.name, self.info_from)
        if self.verbose or _own(record.name, ("newswatch",)):
            return True
        if _own(record.name, TOLD_BY_THE_SPIDER):
            return False
        _one_line(record)
        return True


def _one_line(record: logging.LogRecord) -> None:
    """The record's message and its exception's first line, without the traceback."""
    message = first_line(record.getMessage(), limit=500)
    if record.exc_info and record.exc_info[1] is not None:
        message = f"{message}: {first_line(record.exc_info[1])}"
    record.msg, record.args = message, None
    record.exc_info, record.exc_text, record.stack_info = None, None, None


def setup_logging(level: Verbosity, console: Console, info_from: tuple[str, ...] = ()) -> None:
    """Send every log record through one handler on stderr, filtered for ``level``;
    ``info_from``: logger names whose INFO lines show at the normal level."""
    from rich.logging import RichHandler

    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(LogFilter(level, info_from))
    handler.addFilter(RedactingFilter())  # every record, whichever logger: ${VAR} values masked
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.getLogger("newswatch").setLevel(logging.INFO)
