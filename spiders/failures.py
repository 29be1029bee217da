"""How a failed request is told: one short reason, and whether it says the whole host is out
of reach (DNS, connection refused, no route, connect timeout), so a crawl with no network
reports one line per host instead of one per URL (and no traceback).

Exceptions are recognised by class name, so Twisted's and each Scrapy version's own classes
(``DNSLookupError``, ``CannotResolveHostError``, ...) read the same.
"""

from __future__ import annotations

from dataclasses import dataclass

_HOST_WIDE = {
    "DNSLookupError": "DNS lookup failed",
    "CannotResolveHostError": "DNS lookup failed",
    "ConnectionRefusedError": "connection refused",
    "DownloadConnectionRefusedError": "connection refused",
    "NoRouteError": "no route to host",
    "TCPTimedOutError": "connection timed out",
}
_PER_PAGE = {
    "TimeoutError": "timed out",
    "DownloadTimeoutError": "timed out",
    "UserTimeoutError": "timed out",
    "ConnectionLost": "connection lost",
    "ConnectionDone": "connection closed",
    "ResponseNeverReceived": "no response",
    "ResponseDataLossError": "response cut short",
}


@dataclass(frozen=True)
class Failed:
    reason: str  # one line, e.g. "connection refused" or "HTTP 404"
    host_wide: bool = False


def describe(exc_type: type[BaseException], message: str) -> Failed:
    """The short reason for a request that failed with ``exc_type`` (``message``: its text)."""
    for cls in exc_type.__mro__:
        if cls.__name__ in _HOST_WIDE:
            return Failed(_HOST_WIDE[cls.__name__], host_wide=True)
        if cls.__name__ in _PER_PAGE:
            return Failed(_PER_PAGE[cls.__name__])
    return Failed(f"{exc_type.__name__}: {message}".strip())
