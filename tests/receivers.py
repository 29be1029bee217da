"""Real local receivers for tests: a webhook server and an SMTP sink on 127.0.0.1.

``WebhookReceiver`` is the one local server (``newswatch.localserver``) answering POSTs: it
checks ``X-Newswatch-Signature`` and records every request; it can be stopped and started again
on the same port (receiver down, then up), answer slowly (``delay``) or only once released
(``hold``). ``SilentReceiver`` accepts TCP connections and never answers. ``SmtpSink`` wraps ``aiosmtpd`` (a test dependency, imported lazily) with optional STARTTLS,
implicit TLS and AUTH. ``self_signed_cert`` writes a throw-away certificate with ``cryptography``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from newswatch.localserver import LocalServer, Reply, Request


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when ``header`` is ``sha256=<hex HMAC-SHA256(secret, body)>`` (constant-time)."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None  # None when the receiver has no secret

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class WebhookReceiver:
    """``with WebhookReceiver(secret="s") as hook: ... hook.url ... hook.received``."""

    secret: str | None = None
    status: int = 204
    port: int = 0
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds before each answer (a slow receiver)
    hold: threading.Event | None = None  # when set: record each request, answer once it is set
    _server: LocalServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _respond(self, request: Request) -> Reply:
        ok = None
        if self.secret is not None:
            ok = verify_signature(request.body, request.headers.get("X-Newswatch-Signature"),
                                  self.secret)
        self.received.append(Received(request.path, request.headers, request.body, ok))
        if self.hold is not None:
            self.hold.wait(300)
        if self.delay:
            time.sleep(self.delay)
        return Reply(401 if ok is False else self.status)

    def start(self) -> WebhookReceiver:
        self._server = LocalServer(self._respond, port=self.port, name="test-webhook",
                                   keep_alive=False)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` for ``host`` (IP SAN and DNS SAN) into ``directory``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    san: list[x509.GeneralName] = [x509.DNSName("localhost")]
    with contextlib.suppress(ValueError):
        san.append(x509.IPAddress(ipaddress.ip_address(host)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    auth_user: str | None

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class SilentReceiver:
    """A TCP server on 127.0.0.1 that accepts every connection, reads what it is sent, and never
    answers (a receiver that hangs). ``received``: the bytes read so far, over all connections."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received = bytearray()
        self.connections: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-receiver", daemon=True)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                self.received += data

    def __enter__(self) -> SilentReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every message in ``self.mails``.

    ``mode``: ``"plain"`` (no TLS), ``"starttls"`` (offers STARTTLS) or ``"smtps"`` (implicit TLS);
    ``credentials=(user, password)`` enables AUTH (allowed only over TLS unless mode is plain).
    ``hold``: an event; each message is kept at once but answered only once it is set.
    """

    def __init__(self, mode: str = "plain", cert: tuple[Path, Path] | None = None,
                 credentials: tuple[str, str] | None = None, require_starttls: bool = False,
                 hold: threading.Event | None = None) -> None:
        import asyncio
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.mails: list[Mail] = []
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                user = session.auth_data.login.decode() if getattr(
                    session.auth_data, "login", None) else None
                sink.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.original_content or envelope.content,
                                       server.transport.get_extra_info("ssl_object") is not None, user))
                while hold is not None and not hold.is_set():
                    await asyncio.sleep(0.05)
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                          auth_data: Any) -> AuthResult:
            ok = credentials is not None and (
                auth_data.login.decode(), auth_data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        tls_ctx = None
        if mode in ("starttls", "smtps"):
            if cert is None:
                raise ValueError(f"SmtpSink: mode {mode!r} needs cert=(cert.pem, key.pem)")
            tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        elif mode != "plain":
            raise ValueError(f"SmtpSink: unknown mode {mode!r}")
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            # aiosmtpd cannot see implicit TLS, so it would hide AUTH there if TLS were "required".
            kwargs.update(authenticator=authenticator, auth_require_tls=mode == "starttls")
        if mode == "starttls":
            kwargs.update(tls_context=tls_ctx, require_starttls=require_starttls)
        elif mode == "smtps":
            kwargs.update(ssl_context=tls_ctx)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
