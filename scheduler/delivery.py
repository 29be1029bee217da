"""The daemon's alert delivery pass: send the outbox's due rows through the configured channels,
and the digests that are due."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from newswatch.errors import first_line

log = logging.getLogger("newswatch.scheduler")

MAX_BATCH = 100


def deliver_digests_once(store: Any, channels: Mapping[str, Any]) -> int:
    """Assemble and send the digests that are due (alerts/digest.py); returns how many were
    sent. Never raises, like ``deliver_once``."""
    from newswatch.alerts.digest import deliver_digests

    try:
        report = deliver_digests(store, channels)
    except Exception as exc:  # noqa: BLE001 - the next pass retries
        log.warning("digest delivery pass failed: %s: %s", type(exc).__name__, first_line(exc))
        return 0
    if report.attempted:
        log.info("digests: %s", report)
    return report.sent


def deliver_once(store: Any, channels: Mapping[str, Any],
                 keep_going: Callable[[], bool] = lambda: True) -> int:
    """Deliver due alerts (batch after batch while full and ``keep_going()``); returns sent count.

    Never raises: a failing pass (database down, sender bug) is one warning line and the next
    pass retries, since the outbox keeps every unsent row.
    """
    from newswatch.alerts.sender import deliver_pending

    deliver_digests_once(store, channels)
    sent = 0
    while True:
        try:
            report = deliver_pending(store, channels, max_batch=MAX_BATCH)
        except Exception as exc:  # noqa: BLE001 - the next pass retries
            log.warning("alert delivery pass failed: %s: %s", type(exc).__name__, first_line(exc))
            return sent
        sent += report.sent
        if report.attempted or report.unknown_channel:
            log.info("alerts: %s", report)
        if report.attempted < MAX_BATCH or not keep_going():
            return sent
