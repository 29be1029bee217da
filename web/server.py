"""Running the dashboard with uvicorn: in the foreground (``newswatch serve``) or in a thread
of another process (``newswatch daemon --serve``, tests), always stopped with its parent.

Loopback (127.0.0.0/8, ::1, localhost) is the default; any other host needs ``serve.token``
in the config, and ``check_bind`` refuses to start without one.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from newswatch.config import Config

log = logging.getLogger("newswatch.web")
START_TIMEOUT = 30.0


class ServeError(ValueError):
    """The dashboard cannot start as asked (one line naming the host or the key)."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(config: Config, host: str) -> None:
    """Raise ServeError unless ``host`` is loopback or the config sets ``serve.token``."""
    if not is_loopback(host) and not config.serve.token:
        where = config.path or "the config"
        raise ServeError(f"--host {host} is not loopback: set serve.token (e.g. "
                         f"token: ${{NEWSWATCH_SERVE_TOKEN}}) in {where} to serve beyond this "
                         "machine, or use --host 127.0.0.1")


def _uvicorn_config(app: Any, host: str, port: int) -> Any:
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          server_header=False, proxy_headers=False, lifespan="on")


def serve_forever(config: Config, host: str, port: int, store: Any = None) -> None:
    """Serve in this thread until SIGINT/SIGTERM (uvicorn's own handlers)."""
    import uvicorn

    from newswatch.web.app import create_app

    check_bind(config, host)
    uvicorn.Server(_uvicorn_config(create_app(config, store), host, port)).run()


class DashboardThread:
    """The dashboard served from a daemon thread of this process: ``start()`` returns once it
    listens (its URL in ``url``), ``stop()`` ends it and waits for the thread."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 0,
                 store: Any = None) -> None:
        import uvicorn

        from newswatch.web.app import create_app

        check_bind(config, host)
        self.server = uvicorn.Server(_uvicorn_config(create_app(config, store), host, port))
        self.thread = threading.Thread(target=self.server.run, name="newswatch-web", daemon=True)
        self.host = host
        self.url = ""

    def start(self) -> DashboardThread:
        self.thread.start()
        deadline = threading.Event()
        for _ in range(int(START_TIMEOUT / 0.05)):
            if self.server.started or not self.thread.is_alive():
                break
            deadline.wait(0.05)
        if not self.server.started:
            self.stop()
            raise ServeError(f"dashboard did not start on {self.host} (port in use?)")
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        log.info("dashboard at %s", self.url)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=15)

    def __enter__(self) -> DashboardThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
