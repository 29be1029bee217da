"""What a hostile outlet cannot make a crawl do: a gzipped sitemap that expands without end is
cut at the page-size limit, and a listing with thousands of article links is fetched only up to
the outlet's cap of new article URLs per crawl."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

from tests.conftest import ROOT
from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

ARTICLE_RE = r"/news/\d{4}/"
GIB = 1 << 30


def gzip_bomb(expanded: int) -> bytes:
    """A gzipped sitemap whose body expands to ``expanded`` bytes (mostly spaces), made a
    mebibyte at a time: the expanded form is never held."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        gz.write(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        chunk = b" " * (1 << 20)
        for _ in range(expanded >> 20):
            gz.write(chunk)
        gz.write(b"</urlset>")
    return out.getvalue()


def crawl_measured(config: Path, tmp_path: Path) -> tuple[int, str, int]:
    """``newswatch crawl`` in a child: (exit code, its output, its peak resident set in bytes)."""
    log = tmp_path / "crawl.out"
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_DATABASE_URL"}
    env["COLUMNS"] = "200"
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "crawl", "--config",
                                  str(config)], cwd=ROOT, env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, log.read_text(), usage.ru_maxrss * 1024


def test_a_gzip_bomb_sitemap_is_cut_at_the_page_size_limit(tmp_path, site: LocalSite,
                                                            write_config):
    bomb = gzip_bomb(GIB)
    assert len(bomb) < 2_000_000
    site.set("/bomb.xml.gz", Page(body=bomb, content_type="application/x-gzip"))
    site.set("/broken.xml.gz", Page(body=b"\x1f\x8b\x08\x00" + b"\x00" * 64,
                                    content_type="application/x-gzip"))
    site.set("/garbage.xml", Page(body=b"\x00\x01 not xml", content_type="application/xml"))
    site.set("/feed.xml", Page(body=b"\x00\x01 not a feed", content_type="application/rss+xml"))
    site.set("/sitemap.xml", Page(body=f"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{site.url}/news/2026/a.html</loc></url></urlset>""".encode(),
                                  content_type="application/xml"))
    site.set("/news/2026/a.html", article_html("Beside the bomb", EN_PARAGRAPHS, lang="en",
                                               meta_charset="utf-8"))
    limit = 2_000_000
    config = write_config({
        "outlets": [{"name": "local", "article_url": ARTICLE_RE, "render": "never",
                     "sitemaps": [site.url + p for p in ("/bomb.xml.gz", "/broken.xml.gz",
                                                         "/garbage.xml", "/sitemap.xml")],
                     "feeds": [site.url + "/feed.xml"]}],
        "politeness": {"max_page_bytes": limit, "retries": 0}})
    code, output, peak = crawl_measured(config, tmp_path)
    assert code == 0, output
    assert f"/bomb.xml.gz: sitemap larger than {limit} bytes when decompressed" in output
    for path in ("/broken.xml.gz", "/garbage.xml", "/feed.xml"):  # each named with a reason
        [line] = [ln for ln in output.splitlines() if f"{path}: " in ln and "WARNING" in ln]
        reason = line.split(f"{path}: ", 1)[1]
        assert reason.split(": ", 1)[1].strip(), reason  # "not a readable sitemap: <why>"
    assert "new 1" in output.replace("│", " ") or " 1 " in output
    # the crawl's own memory: a fraction of the gigabyte the sitemap expands to
    assert peak < GIB // 2, f"peak resident set {peak >> 20} MiB"
    print(f"bomb {len(bomb)} bytes -> {GIB} bytes; crawl peak RSS {peak >> 20} MiB")


def test_gzip_bomb_builder_is_streamed():
    data = gzip_bomb(4 << 20)
    assert len(zlib.decompress(data, wbits=31)) > 4 << 20


def test_new_article_links_are_capped_per_outlet_and_crawl(tmp_path, site: LocalSite,
                                                           write_config, cli):
    links = [f"/news/2026/{i}.html" for i in range(5000)]
    site.set("/ai/", listing_html(links))
    page = article_html("One of many", ZH_PARAGRAPHS, meta_charset="utf-8").encode()
    for path in links:
        site.set(path, page)
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never",
                                        "max_new_articles": 50}],
                           "politeness": {"retries": 0}})
    env = {"COLUMNS": "200"}
    first = cli("crawl", "--config", str(config), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    fetched = [h.path for h in site.hits if h.path.startswith("/news/")]
    assert sorted(fetched) == sorted(links[:50])  # the first 50 links of the listing
    assert "capped: local: 50 new article links (4950 more left for later crawls)" in first.stdout
    # the next crawl takes the next 50 new ones; the 50 it stored are not due yet (revisit)
    site.hits.clear()
    second = cli("crawl", "--config", str(config), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    again = [h for h in site.hits if h.path.startswith("/news/")]
    assert sorted(h.path for h in again if h.status == 200) == sorted(links[50:100])
    assert not [h for h in again if h.path in set(links[:50])]
    assert "4900 more left" in second.stdout


def test_a_capped_first_crawl_does_not_end_the_baseline(tmp_path, site: LocalSite,
                                                         write_config, cli):
    """Links left for later by the cap belong to the outlet's first crawl: the baseline (no
    alerts) ends with the first crawl that finishes without leaving any."""
    from newswatch.alerts.planner import first_crawl
    from newswatch.storage import connect

    links = [f"/news/2026/{i}.html" for i in range(5)]
    site.set("/ai/", listing_html(links))
    for i, path in enumerate(links):
        site.set(path, article_html(f"Story {i}", EN_PARAGRAPHS, meta_charset="utf-8").encode())
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never",
                                        "max_new_articles": 2}],
                           "politeness": {"retries": 0}})

    def in_baseline() -> bool:
        store = connect(f"sqlite:///{tmp_path / 'nw.db'}")
        try:
            with store.reading() as session:
                return first_crawl(session, "local")
        finally:
            store.close()

    for expected_left in (3, 1):  # two capped crawls: still the baseline
        result = cli("crawl", "--config", str(config), env={"COLUMNS": "200"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"({expected_left} more left" in result.stdout
        assert in_baseline()
    result = cli("crawl", "--config", str(config))  # the last link: nothing left for later
    assert result.returncode == 0, result.stdout + result.stderr
    assert not in_baseline()


def test_the_cap_is_a_positive_number(write_config, cli):
    config = write_config({"outlets": [{"name": "local", "start_urls": ["http://127.0.0.1:9/"],
                                        "max_new_articles": 0}]})
    result = cli("crawl", "--config", str(config))
    assert result.returncode == 2
    assert "outlets[0].max_new_articles" in result.stderr and "at least 1" in result.stderr
