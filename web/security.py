"""Who may read the dashboard, and what a browser may do with its pages.

* The token (``serve.token``): when configured, every request but the login page and the
  stylesheet must carry it, as ``Authorization: Bearer <token>`` or as the login cookie (an
  HMAC of the token, so the cookie never holds the token itself). Pages without it redirect to
  ``/login``; the API and the feeds answer 401.
* Headers on every answer: a Content-Security-Policy that allows no script at all, styles and
  images from this origin only, forms to this origin only, no framing; ``nosniff``; no referrer
  (links to outlets do not tell them where the reader came from).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
COOKIE = "newswatch_session"
OPEN_PATHS = ("/login", "/static/")


def session_value(token: str) -> str:
    """The login cookie's value for ``token`` (the token itself never leaves in a cookie)."""
    return hmac.new(token.encode(), b"newswatch dashboard session", hashlib.sha256).hexdigest()


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of a token a client sent with the configured one."""
    return bool(given) and hmac.compare_digest(given.strip().encode(), token.encode())


def authorized(request: Request, token: str | None) -> bool:
    """True when no token is configured, or the request carries it (header or cookie)."""
    if not token:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and token_matches(given, token):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def is_machine_path(path: str) -> bool:
    return path.startswith(("/api/", "/feeds/")) or path == "/api"


def guard(token: str | None) -> Callable[[Request, Callable[[Request], Awaitable[Response]]],
                                         Awaitable[Response]]:
    """HTTP middleware: the token check, then the security headers on whatever is answered."""

    async def middleware(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if token and not path.startswith(OPEN_PATHS) and not authorized(request, token):
            response: Response
            if is_machine_path(path):
                response = (JSONResponse({"detail": "missing or wrong token"}, status_code=401)
                            if path.startswith("/api") else
                            PlainTextResponse("missing or wrong token\n", status_code=401))
                response.headers["WWW-Authenticate"] = 'Bearer realm="newswatch"'
            else:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/login?next={quote(target, safe='')}",
                                            status_code=303)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    return middleware


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
