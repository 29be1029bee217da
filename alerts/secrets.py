"""Secrets in the notify config: ``${VAR}`` expansion and redaction for logs and JSON output.

The registry of secrets and ``redact`` itself are the kernel's (``newswatch/secrets.py``, so the
crawler and the command line mask with the same list); this module adds what channels need.

``expand_env`` is what the config loader calls on raw YAML values; ``redact`` is what every
error message, log record and ``--json`` field coming out of ``alerts`` passes through, so a
webhook secret, an SMTP password or an Apprise token never leaves the process in clear.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from newswatch.secrets import MASK, MIN_SECRET_LEN, RedactingFilter, redact, register_secret

__all__ = ["LOGGERS", "MASK", "MIN_SECRET_LEN", "RedactingFilter", "expand_env",
           "install_log_redaction", "one_line", "redact", "redact_url", "register_secret",
           "register_url_tokens"]

LOGGERS = ("apprise", "urllib3.connectionpool", "newswatch.alerts.channels", "newswatch.alerts.sender", "newswatch.alerts.planner")
"""Loggers whose records may carry channel URLs (filters do not apply to propagated records)."""
TOKEN_MIN_LEN = 8  # URL path pieces are guessed to be tokens from this length on

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([^}]*)\}?")


def expand_env(value: Any, key_path: str, environ: Mapping[str, str] | None = None,
               missing: list[tuple[str, str]] | None = None) -> Any:
    """Replace ``${VAR}`` in every string inside ``value`` (dicts and lists are walked).

    ``$$`` stands for a literal ``$``. A missing (or empty) variable raises ``ValueError``
    naming both the variable and the key, e.g. ``notify.team-hook.secret: environment variable
    NEWSWATCH_HOOK_SECRET is not set``; with a ``missing`` list, each one is appended to it as
    ``(key, variable)`` instead (and expands to nothing), so a caller can report them all at
    once. Expanded values are registered for redaction.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, Mapping):
        return {k: expand_env(v, f"{key_path}.{k}", env, missing) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand_env(v, f"{key_path}[{i}]", env, missing) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        if name is None:
            raise ValueError(f"{key_path}: bad variable reference {m.group(0)!r} (use ${{NAME}})")
        if not env.get(name):  # empty counts as unset: compose passes ${VAR:-} as ""
            if missing is not None:
                missing.append((key_path, name))
                return ""
            state = "is empty" if name in env else "is not set"
            raise ValueError(f"{key_path}: environment variable {name} {state}")
        register_secret(env[name])
        return env[name]

    return _VAR.sub(sub, value)


def register_url_tokens(path: str, min_len: int = TOKEN_MIN_LEN) -> None:
    """Register token-like pieces of a URL path: segments (and their ``:`` parts) of at least
    ``min_len`` characters that are not host names (no dot) or plain numbers."""
    pieces = {p for seg in path.split("/") for p in (seg, *seg.split(":"))}
    register_secret(*(p for p in pieces if len(p) >= min_len and "." not in p and not p.isdigit()))


def one_line(text: str, limit: int = 500) -> str:
    """Collapse whitespace to one line, redact, and cut to ``limit`` characters."""
    flat = " ".join(redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` plus ``/***`` when there is a path or query (tokens hide there)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    tail = "/" + MASK if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def install_log_redaction(*logger_names: str) -> None:
    """Attach a ``RedactingFilter`` to the named loggers (default ``LOGGERS``), once each."""
    for name in logger_names or LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
