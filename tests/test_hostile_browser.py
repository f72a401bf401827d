"""Issue 4, untrusted content in the browser: script and attribute-breakout payloads in titles,
bylines, text and URLs, and ``javascript:`` links, are inert on every page Palimpsest serves.

A hostile blog is crawled twice (its post is edited in between, so there is a diff to show), more
payloads go straight into the URL-shaped columns a crawl would never fill with them, then headless
Chromium (Debian's ``chromium``, driven by Playwright) opens every page: Datasette's tables, rows
and canned queries, the article and diff pages, the edits feed if there is one. Any dialog, any
call of a payload's function, any request for a payload's image, any ``javascript:`` URL in a
link, frame or form fails the test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from html import escape
from pathlib import Path
from urllib.parse import quote

import lxml.etree
import pytest
import sqlite_utils

from archive.capture import record_capture
from archive.db import open_db
from archive.models import Article, Capture
from archive.serve import datasette_command
from tests.hostile import pages
from tests.hostile.crawl import hostile_crawl
from tests.hostile.server import HostileServer

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
]
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Chromium is not installed: `apt-get install -y chromium` (.ci/run installs it)",
        allow_module_level=True,
    )

# Every payload calls pwned(id) or loads /pwned-<id>: either one reaching the browser is a failure.
PAYLOADS = [
    '<script>pwned("script")</script>',
    '"><img src=/pwned-img onerror=pwned("img")>',
    "' autofocus onfocus='pwned(\"attr\")' x='",
    '<svg/onload=pwned("svg")>',
    '</title><script>pwned("title")</script>',
    '</textarea></style></script><script>pwned("close")</script>',
    "<a href=\"javascript:pwned('a')\">link</a>",
    "<iframe srcdoc=\"<script>parent.pwned('iframe')</script>\"></iframe>",
    "javascript:pwned('bare')",
    "{{ 7*7 }} ${pwned('template')}",
]
EVIL = " ".join(PAYLOADS)
JS_URL = "javascript:pwned('url')//https://example.org/"


def hostile_post(edition: int) -> str:
    """A post whose title, byline and paragraphs are all payloads (escaped: they are its text)."""
    paras = [f"{payload} — edition {edition}. {pages.LOREM}" for payload in PAYLOADS]
    head = (
        f"<link rel='canonical' href='{JS_URL}'>"
        f"<meta property='og:image' content='{JS_URL}'>"
        f"<meta name='description' content='{escape(EVIL)}'>"
    )
    return pages.article(f"{EVIL} #{edition}", paras, author=EVIL, head=head)


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory) -> Path:
    db_path = tmp_path_factory.mktemp("xss") / "archive.db"
    with HostileServer() as server:
        edition = {"n": 1}
        slug = quote('x"><img src=/pwned-path onerror=pwned("path")>', safe="")
        links = [f"/posts/{slug}/", "/posts/plain-story/"]
        server.routes.update(
            {
                "/": lambda ex: ex.html(pages.home_with_feed(EVIL)),
                "/robots.txt": lambda ex: ex.send(pages.robots(), content_type="text/plain"),
                "/feed.xml": lambda ex: ex.send(
                    pages.rss(server.base_url, links), content_type="application/rss+xml"
                ),
                "/posts/*": lambda ex: ex.html(hostile_post(edition["n"])),
            }
        )
        for n in (1, 2):
            edition["n"] = n
            result = hostile_crawl(server.base_url + "/", db_path)
            assert result.exit_code == 0, result.stderr + result.log[-3000:]
    db = open_db(db_path)
    for n in (1, 2, 3):  # URL-shaped columns a crawl never fills with javascript:, filled anyway
        article = Article(
            title=f"{EVIL} direct {n}",
            author=EVIL,
            text="\n".join(f"{p} direct {n}" for p in PAYLOADS),
            description=EVIL,
            site_name=EVIL,
            tags=PAYLOADS[:3],
            categories=PAYLOADS[3:6],
            canonical_url=JS_URL,
            image=JS_URL,
        )
        capture = Capture(
            url=JS_URL,
            page_url=JS_URL,
            final_url=JS_URL,
            fetched_at=f"2026-01-0{n}T00:00:00Z",
            site_url=JS_URL,
            http_status=200 if n < 3 else 500,
            body=f"{EVIL} {n}".encode(),
            content_type=EVIL,
            encoding="utf-8",
            article=article if n < 3 else None,  # two versions, then a failed fetch
            error=EVIL if n == 3 else None,
        )
        record_capture(db, capture)
    db.conn.close()
    return db_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(archive_path):
    """``palimpsest serve``'s Datasette on the hostile archive: its base URL."""
    port = free_port()
    process = subprocess.Popen(
        datasette_command(archive_path, port=port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # up to 20 s
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("Datasette did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def pages_to_visit(archive_path: Path) -> list[str]:
    db = sqlite_utils.Database(archive_path)
    name = archive_path.stem
    paths = ["/", f"/{name}", f"/{name}?sql=select+*+from+versions"]
    paths += [f"/{name}/{table}" for table in db.table_names() + db.view_names()]
    paths += [f"/{name}/{table}?_facet=site_id" for table in ("pages",)]
    paths += [
        f"/{name}/search?q=script",
        f"/{name}/changes_for_url?url={quote(JS_URL)}",
        f"/{name}/recent_changes",
        f"/{name}/most_revised",
    ]
    for table in ("versions", "pages", "captures", "sites", "crawls"):
        paths += [f"/{name}/{table}/{row['id']}" for row in db[table].rows]
    paths += ["/-/edits.atom", "/-/edits.atom?silent=1"]
    for page in db["pages"].rows:
        paths += [f"/-/article/{page['id']}", f"/-/edits.atom?page_id={page['id']}"]
        paths += [f"/-/diff/{page['id']}/{v}" for v in range(1, page["version_count"] + 1)]
        if page["version_count"] > 1:
            paths += [f"/-/diff/{page['id']}/1/2", f"/-/diff/{page['id']}/1/2?view=side"]
    return paths


FEED_CANDIDATES = [
    "/-/feed",
    "/-/edits.atom",
    "/-/feed.atom",
    "/{db}/edits.atom",
    "/{db}/feed.atom",
]


def test_hostile_content_is_inert_on_every_page(served, archive_path):
    from playwright.sync_api import sync_playwright

    fired: list[str] = []
    paths = pages_to_visit(archive_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.expose_function("pwned", lambda tag: fired.append(f"pwned({tag})"))
        page = context.new_page()
        page.on(
            "dialog", lambda dialog: (fired.append(f"dialog {dialog.message}"), dialog.dismiss())
        )
        page.on("request", lambda r: "/pwned" in r.url and fired.append(f"request {r.url}"))
        for path in paths:
            response = page.goto(served + path, wait_until="load")
            assert response.status == 200, path
            page.wait_for_timeout(50)  # onload/onerror handlers and autofocus run now, if at all
            urls = page.eval_on_selector_all(
                "a[href], iframe[src], form[action], img[src], [formaction]",
                "els => els.map(e => e.href || e.src || e.action || e.formAction || '')",
            )
            bad = [u for u in urls if u.strip().lower().startswith(("javascript:", "data:text"))]
            assert bad == [], (path, bad)
            assert fired == [], (path, fired)
        browser.close()
    assert fired == []


def feed_entries(served: str) -> list[dict[str, object]]:
    """The entries of the edits feed as a feed reader sees them: title, links, content HTML."""
    with urllib.request.urlopen(served + "/-/edits.atom", timeout=10) as response:
        root = lxml.etree.fromstring(response.read(), lxml.etree.XMLParser(resolve_entities=False))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    return [
        {
            "title": entry.findtext("a:title", namespaces=ns),
            "links": [link.get("href") for link in entry.findall("a:link", ns)],
            "content": entry.findtext("a:content", namespaces=ns),
        }
        for entry in root.findall("a:entry", ns)
    ]


def test_edits_feed_content_is_inert_in_a_feed_reader(served):
    from playwright.sync_api import sync_playwright

    entries = feed_entries(served)
    assert len(entries) >= 2  # the crawled post's edit and the direct one
    assert any("pwned" in str(entry["content"]) for entry in entries)  # the payloads are in it
    fired: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.expose_function("pwned", lambda tag: fired.append(f"pwned({tag})"))
        page = context.new_page()
        page.on("dialog", lambda dialog: (fired.append("dialog"), dialog.dismiss()))
        page.on("request", lambda r: "/pwned" in r.url and fired.append(f"request {r.url}"))
        page.goto(served + "/")
        for entry in entries:  # what a reader displays: the title as text, the content as HTML
            page.set_content(f"<h1>{escape(str(entry['title']))}</h1>{entry['content']}")
            page.wait_for_timeout(50)
        browser.close()
    assert fired == []


def test_edits_feed_links_are_never_javascript(served):
    for entry in feed_entries(served):
        for href in entry["links"]:
            assert str(href).lower().startswith(("http://", "https://")), href


def test_the_detector_detects(served):
    """The same browser set-up does notice a payload that runs (so silence above means inert)."""
    from playwright.sync_api import sync_playwright

    fired: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.expose_function("pwned", lambda tag: fired.append(tag))
        page = context.new_page()
        page.on("dialog", lambda dialog: (fired.append("dialog"), dialog.dismiss()))
        page.goto(served + "/")
        page.set_content(f"<p>{EVIL}</p><script>alert(1)</script>")
        page.wait_for_timeout(200)
        browser.close()
    assert {"script", "img", "svg", "dialog"} <= set(fired)
