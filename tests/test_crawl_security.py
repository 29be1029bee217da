"""What a crawl process exposes: no listening socket of its own (Scrapy's remote-control server
is off), and no ``${VAR}`` value of the config in any output, log line or stored figure."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import ROOT
from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

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


SECRET = "sk-feed-7f3a9c21e5"


def test_a_secret_in_an_outlet_url_is_masked_everywhere(tmp_path, site: LocalSite, write_config,
                                                        cli):
    """``api_key=${FEED_KEY}`` in a start URL, a feed that fails and an article link that
    carries the key: the value shows nowhere (output, -v log, stored run figures, --json)."""
    import sqlite3

    site.set(f"/ai/?api_key={SECRET}", listing_html(
        ["/news/2026/a.html", f"/news/2026/b.html?api_key={SECRET}"]))
    site.set("/news/2026/a.html", article_html("Keyed listing", EN_PARAGRAPHS, lang="en",
                                               meta_charset="utf-8"))
    site.set(f"/news/2026/b.html?api_key={SECRET}", article_html(
        "Keyed link", ZH_PARAGRAPHS, meta_charset="utf-8"))
    site.set(f"/feed.xml?key={SECRET}", Page(body=b"down", status=500, content_type="text/plain"))
    site.set(f"/news/2026/gone.html?api_key={SECRET}", Page(body=b"gone", status=404))
    site.set("/extra/", listing_html([f"/news/2026/gone.html?api_key={SECRET}"]))
    config = write_config({
        "outlets": [{"name": "local", "article_url": ARTICLE_RE, "render": "never",
                     "start_urls": [site.url + "/ai/?api_key=${FEED_KEY}", site.url + "/extra/"],
                     "feeds": [site.url + "/feed.xml?key=${FEED_KEY}"]}],
        "politeness": {"retries": 0}})
    env = {"FEED_KEY": SECRET, "COLUMNS": "200"}
    outputs = []
    for args in (("crawl", "--config", str(config), "-v"), ("crawl", "--config", str(config)),
                 ("stories", "--config", str(config), "--json"),
                 ("stories", "--config", str(config))):
        result = cli(*args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    first, second, as_json, table = outputs
    assert len(site.requests_for(f"/feed.xml?key={SECRET}")) == 2  # the key was really sent
    assert "***" in first  # the failed feed and the 404 are reported, masked
    assert "feed.xml?key=***" in first and "HTTP 500" in first
    with sqlite3.connect(tmp_path / "nw.db") as db:
        stats = [row[0] for row in db.execute("SELECT stats FROM crawl_runs")]
    assert len(stats) == 2 and all("***" in s for s in stats)
    assert "Keyed link" in as_json and "Keyed link" in table
    for text in (*outputs, *stats):
        assert SECRET not in text


def test_the_remote_control_extension_is_not_even_imported():
    """Scrapy's remote control is off and left out of the extensions (importing it costs every
    crawl process an aiohttp web server, ~95 modules); the rest of Scrapy's own stay."""
    code = ("import sys\n"
            "from scrapy.settings import Settings\n"
            "from newswatch.config import Config\n"
            "from newswatch.crawler.settings import scrapy_settings\n"
            "settings = Settings(scrapy_settings(Config()))\n"
            "names = settings.get_component_priority_dict_with_base('EXTENSIONS')\n"
            "print(sorted(names))\n"
            "print('scrapy.extensions.remote_control' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    names, imported = done.stdout.splitlines()
    assert "RemoteControl" not in names
    assert "scrapy.extensions.corestats.CoreStats" in names
    assert "newswatch.crawler.throttle.ConditionalAwareAutoThrottle" in names
    assert imported == "False"
