"""The daemon's alert delivery pass: send the outbox's due rows through the configured channels,
and the digests that are due."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from newswatch.errors import first_line

log = logging.getLogger("newswatch.scheduler")


def _guarded(what: str, run: Callable[[], Any], worth_a_line: Callable[[Any], bool]) -> int:
    """``run()`` a delivery pass and return its report's sent count; a pass that raised is one
    warning line and 0 (the next pass retries). ``worth_a_line(report)``: log the report too."""
    try:
        report = run()
    except Exception as exc:  # noqa: BLE001 - the next pass retries
        log.warning("%s delivery pass failed: %s: %s", what, type(exc).__name__, first_line(exc))
        return 0
    if worth_a_line(report):
        log.info("%ss: %s", what, report)
    return int(report.sent)


def deliver_digests_once(store: Any, channels: Mapping[str, Any]) -> int:
    """Assemble and send the digests that are due (alerts/digest.py); returns how many were
    sent. Never raises, like ``deliver_once``."""
    from newswatch.alerts.digest import deliver_digests

    return _guarded("digest", lambda: deliver_digests(store, channels),
                    lambda report: bool(report.attempted))


def deliver_once(store: Any, channels: Mapping[str, Any],
                 stop: Callable[[], bool] = lambda: False) -> int:
    """Deliver every due alert (``alerts.sender.deliver_all``: batch after batch, within the
    delivery time budget) until ``stop()``; one log line per batch. Returns the sent count.

    Never raises: a failing pass (database down, sender bug) is one warning line and the next
    pass retries, since the outbox keeps every unsent row. ``stop()`` true abandons a send in
    flight at once (its alert stays pending).
    """
    from newswatch.alerts.sender import deliver_all

    deliver_digests_once(store, channels)
    return _guarded("alert", lambda: deliver_all(store, channels, stop=stop,
                                                 on_batch=lambda b: log.info("alerts: %s", b)),
                    lambda report: bool(report.left))
