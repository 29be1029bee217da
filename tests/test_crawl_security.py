"""What a crawl process exposes: no listening socket of its own (Scrapy's remote-control server
is off), and no ``${VAR}`` value of the config in any output, log line or stored figure."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import ROOT
from tests.localsite import LocalSite
from tests.pages import EN_PARAGRAPHS, article_html, listing_html

ARTICLE_RE = r"/news/\d{4}/"


def descendants(pid: int) -> set[int]:
    """``pid`` and every live process below it (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo.extend(children.get(p, []))
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def listening_tcp_inodes() -> dict[str, str]:
    """inode -> local address of every TCP socket in LISTEN state (state 0A) on the machine."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":
                found[fields[9]] = f"port {int(fields[1].rsplit(':', 1)[1], 16)}"
    return found


def test_a_crawl_opens_no_listening_socket_and_writes_no_job_file(tmp_path, site: LocalSite,
                                                                   write_config):
    # the article answers only when the test has looked at the running crawl
    looked = threading.Event()
    asked = threading.Event()
    serve = site.server.respond

    def respond(request):
        if request.path.startswith("/news/"):
            asked.set()
            looked.wait(120)
        return serve(request)

    site.server.respond = respond
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", article_html("Held story", EN_PARAGRAPHS, lang="en",
                                               meta_charset="utf-8"))
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    home, state = tmp_path / "home", tmp_path / "state"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(state)}
    env.pop("NEWSWATCH_DATABASE_URL", None)
    child = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "crawl", "--config",
                              str(config)], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert asked.wait(120), "the crawl never asked for the article"
        # the engine runs (it fetched the listing and asks for the article): every extension
        # that listens would be listening now
        listening = listening_tcp_inodes()
        own = {inode: listening[inode] for pid in descendants(child.pid)
               for inode in socket_inodes(pid) if inode in listening}
        job_files = [str(p) for p in [*home.rglob("*"), *state.rglob("*")] if p.is_file()]
    finally:
        looked.set()
        stdout, stderr = child.communicate(timeout=180)
    assert child.returncode == 0, stdout + stderr
    assert own == {}, f"the crawl listens on {sorted(own.values())}"
    assert job_files == []
    assert [str(p) for p in [*home.rglob("*"), *state.rglob("*")] if p.is_file()] == []
    assert "new 1" in stdout.replace("│", " ") or " 1 " in stdout
