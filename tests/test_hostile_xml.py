"""Issue 4, XML: XXE and billion-laughs payloads in feeds and sitemaps are never resolved or expanded.

Each payload is first shown to be live (a parser that resolves entities does read the file or
expand the laughs), then fed to the parsers the crawler uses: ``scraper.discovery.entries_in_feed``
(lxml, ``resolve_entities=False``) and Scrapy's ``Sitemap``. A crawl of a site serving them checks
that nothing they point at is ever fetched.
"""

from __future__ import annotations

import time

import lxml.etree
import pytest
import sqlite_utils
from scrapy.utils.sitemap import Sitemap

from scraper.discovery import entries_in_feed
from tests.hostile import pages
from tests.hostile.crawl import hostile_crawl
from tests.hostile.server import HostileServer

BASE = "http://127.0.0.1:8000"
CANARY_PATH = "/posts/xxe-canary/"


def laughs(levels: int) -> bytes:
    """Entity declarations that expand to 3 × 10**levels bytes when referenced as ``&l<levels>;``."""
    declarations = [b'<!ENTITY l0 "lol">']
    declarations += [
        b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, levels + 1)
    ]
    return b"".join(declarations)


def xxe_feed(canary: str, base: str = BASE, *, levels: int = 9) -> bytes:
    doctype = (
        (
            f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{canary}">'
            f'<!ENTITY net SYSTEM "{base}/xxe-fetched/">'
            f'<!ENTITY % remote SYSTEM "{base}/xxe.dtd"> %remote;'
        ).encode()
        + laughs(levels)
        + b"]>"
    )
    items = [b"<item><link>&xxe;</link></item>", b"<item><link>&net;</link></item>"]
    items += [b"<item><link>/posts/feed-%d/</link></item>" % i for i in range(3)]
    items.append(b"<item><title>&l%d;</title><link>/posts/laughs/</link></item>" % levels)
    return (
        b'<?xml version="1.0"?>'
        + doctype
        + b"<rss><channel>"
        + b"".join(items)
        + b"</channel></rss>"
    )


def xxe_sitemap(canary: str, base: str = BASE, *, levels: int = 9) -> bytes:
    doctype = (
        (
            f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{canary}">'
            f'<!ENTITY % remote SYSTEM "{base}/xxe.dtd"> %remote;'
        ).encode()
        + laughs(levels)
        + b"]>"
    )
    urls = [f"<url><loc>{base}/posts/sitemap-{i}/</loc></url>".encode() for i in range(3)]
    urls += [f"<url><loc>{base}&xxe;</loc></url>".encode(), b"<url><loc>&l%d;</loc></url>" % levels]
    return (
        b'<?xml version="1.0"?>'
        + doctype
        + b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"".join(urls)
        + b"</urlset>"
    )


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "canary.txt"
    path.write_text(CANARY_PATH)
    return str(path)


RESOLVING = {"resolve_entities": True, "load_dtd": True, "no_network": True, "recover": True}


def test_the_payloads_are_live(canary):
    # Proof that the tests below test something: a parser that resolves entities reads the file
    # and expands the laughs (three levels here, 3 KB; nine would be 3 GB).
    feed = lxml.etree.fromstring(xxe_feed(canary, levels=3), lxml.etree.XMLParser(**RESOLVING))
    links = feed.xpath("//link/text()")
    assert CANARY_PATH in links
    assert len(feed.xpath("string(//item/title)")) == 3 * 10**3
    sitemap = lxml.etree.fromstring(xxe_sitemap(canary), lxml.etree.XMLParser(**RESOLVING))
    assert CANARY_PATH in "".join(sitemap.itertext())


def test_feed_entities_are_never_resolved_or_expanded(canary):
    started = time.monotonic()
    urls = entries_in_feed(xxe_feed(canary), BASE + "/")
    assert time.monotonic() - started < 1
    assert not any(CANARY_PATH in url or "xxe" in url or "lol" in url for url in urls)
    assert f"{BASE}/posts/feed-0/" in urls  # the feed is still read


def test_sitemap_entities_are_never_resolved_or_expanded(canary):
    started = time.monotonic()
    locs = [entry["loc"] for entry in Sitemap(xxe_sitemap(canary))]
    assert time.monotonic() - started < 1
    assert not any(CANARY_PATH in loc or "lol" in loc for loc in locs)
    assert f"{BASE}/posts/sitemap-0/" in locs


@pytest.mark.e2e
def test_crawl_of_hostile_xml_fetches_nothing_it_points_at(canary, tmp_path):
    with HostileServer() as server:
        base = server.base_url
        article = lambda ex: ex.html(pages.article(f"Story {ex.path}", pages.paragraphs(ex.path)))
        server.routes.update(
            {
                "/": lambda ex: ex.html(pages.home_with_feed("XML Gazette")),
                "/robots.txt": lambda ex: ex.send(
                    pages.robots(sitemap=f"{base}/sitemap.xml"), content_type="text/plain"
                ),
                "/feed.xml": lambda ex: ex.send(
                    xxe_feed(canary, base), content_type="application/rss+xml"
                ),
                "/sitemap.xml": lambda ex: ex.send(
                    xxe_sitemap(canary, base), content_type="application/xml"
                ),
                "/posts/*": article,
                "/xxe.dtd": lambda ex: ex.send(
                    '<!ENTITY xxe "/posts/from-dtd/">', content_type="application/xml-dtd"
                ),
            }
        )
        result = hostile_crawl(base + "/", tmp_path / "archive.db")
    assert result.exit_code == 0, result.stderr + result.log[-3000:]
    fetched = {hit.path for hit in server.hits}
    assert not fetched & {CANARY_PATH, "/xxe-fetched/", "/xxe.dtd", "/posts/from-dtd/"}
    assert not any("lol" in path for path in fetched)
    db = sqlite_utils.Database(tmp_path / "archive.db")
    archived = {row["url"].removeprefix(base) for row in db["pages"].rows}
    assert {"/posts/feed-0/", "/posts/sitemap-0/"} <= archived  # both were read, harmlessly
    assert result.stats["test/peak_rss_mb"] < 200
