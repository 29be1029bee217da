"""Notification channels: webhook, email (SMTP) and Apprise, built from the config's ``notify:``.

urlwatch-reporter style: each kind is a small ``Channel`` subclass registered in ``CHANNEL_KINDS``
under the config key that selects it (``webhook``, ``email``, ``apprise``). ``parse_channels``
turns the ``notify:`` mapping into ``{name: Channel}`` with one-line errors naming the key.
A channel's ``send(payload)`` raises ``DeliveryError`` (one line, redacted) on failure.
Channels need no database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import requests

from newswatch.alerts.payload import render_html, render_text, subject
from newswatch.alerts.secrets import (
    install_log_redaction,
    one_line,
    redact,
    redact_url,
    register_secret,
    register_url_tokens,
)

log = logging.getLogger("newswatch.alerts.channels")

SIGNATURE_HEADER = "X-Newswatch-Signature"
ALERT_ID_HEADER = "X-Newswatch-Alert-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"  # an alert's uid or a digest's key: the same on every retry
USER_AGENT = "newswatch-alerts/0.1"


class DeliveryError(Exception):
    """A send failed; ``str(err)`` is one redacted line fit for ``last_error`` and logs."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


CHANNEL_KINDS: dict[str, type[Channel]] = {}


class Channel:
    """Base class. Subclasses set ``kind`` (their config key) and are registered automatically."""

    kind: ClassVar[str] = ""
    options: ClassVar[frozenset[str]] = frozenset()  # allowed keys besides ``kind``
    # ``config.Digest`` when the config gives this channel a ``digest:``: its alerts wait for
    # the period's digest (alerts/digest.py) instead of going out one by one
    digest: Any = None
    timeout: float = 30.0  # seconds one whole send may take (the sender gives up after it)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            CHANNEL_KINDS[cls.kind] = cls

    def __init__(self, name: str) -> None:
        self.name = name
        install_log_redaction()

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], key: str) -> Channel:
        raise NotImplementedError

    def send(self, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def target(self) -> str:
        """Where messages go, redacted."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A redacted summary for ``newswatch ... --json`` and logs."""
        return {"name": self.name, "kind": self.kind, "target": self.target()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.target()}>"


# --- option helpers (each error names the full key) ---------------------------------------


def _str(cfg: Mapping[str, Any], opt: str, key: str, *, required: bool = False) -> str | None:
    v = cfg.get(opt)
    if v is None:
        if required:
            raise ValueError(f"{key}.{opt}: required")
        return None
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{key}.{opt}: expected a non-empty string, got {type(v).__name__}")
    return v.strip()


def _timeout(cfg: Mapping[str, Any], key: str, default: float) -> float:
    v = cfg.get("timeout", default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 600:
        raise ValueError(f"{key}.timeout: expected seconds between 0 and 600, got {v!r}")
    return float(v)


def _bool(cfg: Mapping[str, Any], opt: str, key: str, default: bool) -> bool:
    v = cfg.get(opt, default)
    if not isinstance(v, bool):
        raise ValueError(f"{key}.{opt}: expected true or false, got {v!r}")
    return v


def _tls_context(verify: bool, ca_file: str | None, key: str) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"{key}.tls_ca: cannot load {ca_file}: {exc}") from None
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _exc_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --- webhook ---------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The ``X-Newswatch-Signature`` value: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON, non-ASCII kept as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel(Channel):
    kind = "webhook"
    options = frozenset({"secret", "timeout", "tls_verify", "tls_ca"})

    def __init__(self, name: str, url: str, *, secret: str | None = None, timeout: float = 10.0,
                 verify: bool | str = True) -> None:
        super().__init__(name)
        self.url, self.secret, self.timeout, self.verify = url, secret, timeout, verify
        register_secret(secret)
        parts = urlsplit(url)
        register_secret(parts.password, parts.query or None)
        register_url_tokens(parts.path)  # Slack-style hooks carry the token in the path
        self._http = requests.Session()
        self._http.headers["User-Agent"] = USER_AGENT

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], key: str) -> WebhookChannel:
        url = _str(cfg, "webhook", key, required=True)
        assert url is not None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{key}.webhook: expected an http(s):// URL, got {redact_url(url)}")
        verify: bool | str = _bool(cfg, "tls_verify", key, True)
        ca = _str(cfg, "tls_ca", key)
        if ca and verify:
            verify = ca
        return cls(name, url, secret=_str(cfg, "secret", key), timeout=_timeout(cfg, key, 10),
                   verify=verify)

    def target(self) -> str:
        return redact_url(self.url)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "signed": bool(self.secret)}

    def send(self, payload: dict[str, Any]) -> None:
        body = encode_body(payload)
        headers = {"Content-Type": "application/json"}
        if payload.get("alert_id") is not None:
            headers[ALERT_ID_HEADER] = str(payload["alert_id"])
        key = payload.get("idempotency_key") or payload.get("alert_uid")  # digest / alert
        if key:
            headers[IDEMPOTENCY_HEADER] = str(key)
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            resp = self._http.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                   verify=self.verify, allow_redirects=False)
        except requests.Timeout:
            raise DeliveryError(f"webhook {self.target()}: no answer within {self.timeout:g}s") from None
        except requests.RequestException as exc:
            reason = exc.args[0] if exc.args else exc
            raise DeliveryError(f"webhook {self.target()}: {type(exc).__name__}: {reason}") from None
        if not 200 <= resp.status_code < 300:
            snippet = resp.text[:200] if resp.text else ""
            raise DeliveryError(f"webhook {self.target()}: HTTP {resp.status_code} {resp.reason}"
                                + (f": {snippet}" if snippet else ""))


# --- email -----------------------------------------------------------------------------------


_NOT_IN_USERINFO = "@/?#"


def _check_userinfo(url: str, key: str) -> None:
    """A user name or password holding ``@ / ? #`` must be %-encoded, else the URL parses as
    another host, port or path: say so without printing any of it."""
    rest = url.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    if userinfo and any(c in userinfo for c in _NOT_IN_USERINFO):
        raise ValueError(f"{key}: the user name or password holds @, /, ? or # : write them "
                         "%-encoded (@ as %40, / as %2F, ? as %3F, # as %23; : may stay)")


class EmailChannel(Channel):
    kind = "email"
    options = frozenset({"smtp", "from", "timeout", "tls_verify", "tls_ca"})

    def __init__(self, name: str, to: list[str], *, host: str, port: int, implicit_tls: bool,
                 sender: str, user: str | None = None, password: str | None = None,
                 timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__(name)
        self.to, self.host, self.port, self.implicit_tls = to, host, port, implicit_tls
        self.sender, self.user, self.password, self.timeout = sender, user, password, timeout
        self.tls_context = tls_context or ssl.create_default_context()
        register_secret(password)

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], key: str) -> EmailChannel:
        raw_to = cfg.get("email")
        to = [raw_to] if isinstance(raw_to, str) else raw_to
        if not isinstance(to, list) or not to:
            raise ValueError(f"{key}.email: expected an address or a list of addresses")
        for i, addr in enumerate(to):
            if not isinstance(addr, str) or "@" not in parseaddr(addr)[1]:
                raise ValueError(f"{key}.email[{i}]: not an email address: {addr!r}")
        smtp_url = _str(cfg, "smtp", key, required=True)
        assert smtp_url is not None
        _check_userinfo(smtp_url, f"{key}.smtp")
        try:
            parts = urlsplit(smtp_url)
            port = parts.port
            password = unquote(parts.password) if parts.password is not None else None
        except ValueError:  # the parser's message may quote a piece of the password
            raise ValueError(f"{key}.smtp: bad port in {redact_url(smtp_url)} (use "
                             "smtp[s]://user:password@host:port)") from None
        register_secret(password)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"{key}.smtp: expected smtp:// or smtps://, got {parts.scheme or 'no'}"
                             " scheme")
        if not parts.hostname:
            raise ValueError(f"{key}.smtp: no host in {redact_url(smtp_url)}")
        if parts.path.strip("/") or parts.query:
            raise ValueError(f"{key}.smtp: unexpected path or query (use smtp[s]://user:pass@host:port)")
        sender = _str(cfg, "from", key, required=True)
        assert sender is not None
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(f"{key}.from: not an email address: {sender!r}")
        implicit = parts.scheme == "smtps"
        ctx = _tls_context(_bool(cfg, "tls_verify", key, True), _str(cfg, "tls_ca", key), key)
        return cls(name, list(to), host=parts.hostname, port=port or (465 if implicit else 25),
                   implicit_tls=implicit, sender=sender,
                   user=unquote(parts.username) if parts.username else None,
                   password=password, timeout=_timeout(cfg, key, 30), tls_context=ctx)

    def target(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.user}:***@" if self.user and self.password else (
            f"{self.user}@" if self.user else "")
        return f"{scheme}://{user}{self.host}:{self.port} -> {', '.join(self.to)}"

    def build_message(self, payload: dict[str, Any]) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject(payload)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        key, uid = payload.get("idempotency_key"), payload.get("alert_uid")
        # the same Message-ID on every retry: a digest's stable key, else the alert's uid
        if key:
            msg["Message-ID"] = f"<{key}@{domain or 'newswatch'}>"
        elif uid:
            msg["Message-ID"] = f"<newswatch.{uid}@{domain or 'newswatch.invalid'}>"
        else:
            msg["Message-ID"] = make_msgid("newswatch", domain=domain)
        if payload.get("alert_id") is not None:
            msg[ALERT_ID_HEADER] = str(payload["alert_id"])
        msg.set_content(render_text(payload), subtype="plain", charset="utf-8")
        msg.add_alternative(render_html(payload), subtype="html", charset="utf-8")
        return msg

    def send(self, payload: dict[str, Any]) -> None:
        msg = self.build_message(payload)
        where = f"smtp {self.host}:{self.port}"
        try:
            if self.implicit_tls:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=self.tls_context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with conn:
                conn.ehlo()
                if not self.implicit_tls and conn.has_extn("starttls"):
                    conn.starttls(context=self.tls_context)
                    conn.ehlo()
                if self.user and self.password is not None:
                    conn.login(self.user, self.password)
                refused = conn.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            msg_text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"{where}: {exc.smtp_code} {msg_text}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where}: all recipients refused: {', '.join(exc.recipients)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {_exc_line(exc)}") from None
        if refused:
            log.warning("%s: some recipients refused: %s", self.name, ", ".join(refused))


# --- apprise ---------------------------------------------------------------------------------


class AppriseChannel(Channel):
    kind = "apprise"
    # ``timeout``: the whole send; per-connection timeouts may go in the URL (?cto=..&rto=..)
    options: ClassVar[frozenset[str]] = frozenset({"timeout"})

    def __init__(self, name: str, urls: list[str], key: str = "apprise",
                 timeout: float = 30.0) -> None:
        import apprise

        super().__init__(name)
        self.timeout = timeout
        self._apprise = apprise.Apprise()
        self._targets: list[str] = []
        for i, url in enumerate(urls):
            self._register_url(url)
            where = key if len(urls) == 1 else f"{key}[{i}]"
            if not self._apprise.add(url):
                raise ValueError(f"{where}: not a usable Apprise URL: {self._scheme_only(url)}")
            plugin = self._apprise[len(self._apprise) - 1]
            self._targets.append(redact(plugin.url(privacy=True).split("?", 1)[0]))

    @staticmethod
    def _scheme_only(url: str) -> str:
        return url.split("://", 1)[0] + "://***" if "://" in url else "***"

    @staticmethod
    def _register_url(url: str) -> None:
        # Apprise carries tokens in userinfo, host and path segments: mask all of them.
        parts = urlsplit(url)
        try:
            register_secret(parts.password, parts.username, parts.query or None)
        except ValueError:
            pass
        register_url_tokens(url.split("://", 1)[-1].split("?", 1)[0].replace("@", "/"))

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], key: str) -> AppriseChannel:
        raw = cfg.get("apprise")
        urls = [raw] if isinstance(raw, str) else raw
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
            raise ValueError(f"{key}.apprise: expected an Apprise URL or a list of them")
        return cls(name, urls, key=f"{key}.apprise", timeout=_timeout(cfg, key, 30))

    def target(self) -> str:
        return ", ".join(self._targets)

    def send(self, payload: dict[str, Any]) -> None:
        import apprise

        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = self._apprise.notify(body=render_text(payload), title=subject(payload),
                                      body_format=apprise.NotifyFormat.TEXT)
            log_text = captured.getvalue()
        if not bool(ok):
            lines = [ln.split(" - ", 2)[-1] for ln in log_text.splitlines() if ln.strip()]
            reason = "; ".join(lines[-3:]) or "notification not delivered"
            raise DeliveryError(f"apprise {self.target()}: {reason}")


# --- parsing ---------------------------------------------------------------------------------


def parse_channels(mapping: Mapping[str, Any] | None, key: str = "notify") -> dict[str, Channel]:
    """Build ``{name: Channel}`` from the ``notify:`` mapping (``${VAR}`` already expanded).

    Each entry holds exactly one kind key (``webhook``, ``email``, ``apprise``) plus that kind's
    options. Errors are ``ValueError`` with one line naming the key, e.g.
    ``notify.team-mail.smtp: expected smtp:// or smtps://, got http scheme``.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{key}: expected a mapping of channel names, got {type(mapping).__name__}")
    channels: dict[str, Channel] = {}
    for name, cfg in mapping.items():
        where = f"{key}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: channel names must be non-empty strings")
        if not isinstance(cfg, Mapping):
            raise ValueError(f"{where}: expected a mapping like {{webhook: URL}}, got "
                             f"{type(cfg).__name__}")
        kinds = [k for k in cfg if k in CHANNEL_KINDS]
        if len(kinds) != 1:
            known = ", ".join(sorted(CHANNEL_KINDS))
            found = f"both {' and '.join(kinds)}" if kinds else "none"
            raise ValueError(f"{where}: expected exactly one of {known}; found {found}")
        cls = CHANNEL_KINDS[kinds[0]]
        for opt in cfg:
            if opt != cls.kind and opt not in cls.options:
                allowed = ", ".join(sorted(cls.options)) or "none"
                raise ValueError(f"{where}.{opt}: unknown option for a {cls.kind} channel "
                                 f"(allowed: {allowed})")
        channels[name] = cls.from_config(name, cfg, where)
    return channels
