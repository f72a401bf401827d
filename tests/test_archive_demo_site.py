"""The sample blog (posts, correction, static site, feeds, server) and the corpus blog."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from email.utils import formatdate
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError

import pytest

from archive.demo import SITE_NAME, SiteServer, apply_corrections, load_posts, render_site
from archive.demo.posts import load_corrections, parse_post, plain_text
from archive.demo.site import serve_blog
from tests.corpus_blog import (
    FEED_SIZE,
    corpus_dir,
    load_corpus,
    page_title,
    render_corpus_blog,
    serve_corpus_blog,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from archive.demo import Post

BASE = "http://127.0.0.1:8123"
ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # let the test see the 301 itself


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, Any, bytes]:
    """(status, headers, body) of one request, error statuses included."""
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


class _Head(HTMLParser):
    """Collects <meta>, <link>, JSON-LD and every href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, str] = {}
        self.hrefs: list[str] = []
        self.json_ld: list[dict[str, Any]] = []
        self.lang: str | None = None
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and ("property" in a or "name" in a):
            self.meta.setdefault(a.get("property") or a["name"], []).append(a["content"])
        elif tag == "link":
            self.links.setdefault(a["rel"], a["href"])
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True
        if "href" in a:
            self.hrefs.append(a["href"])

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld.append(json.loads(data))

    def handle_endtag(self, tag: str) -> None:
        self._in_ld = False


def parse_head(body: bytes) -> _Head:
    parser = _Head()
    parser.feed(body.decode())
    parser.close()
    return parser


@pytest.fixture(scope="module")
def posts() -> list[Post]:
    return load_posts()


@pytest.fixture(scope="module")
def site(posts: list[Post]) -> dict[str, tuple[str, bytes]]:
    return render_site(posts, site_name=SITE_NAME, base_url=BASE)


@pytest.fixture
def server(posts: list[Post]) -> Iterator[SiteServer]:
    with serve_blog(posts) as running:
        yield running


# -- posts and the correction ------------------------------------------------------------------


def test_load_posts_gives_seven_complete_posts(posts: list[Post]) -> None:
    assert len(posts) == 7
    assert len({post.slug for post in posts}) == 7
    assert [post.date for post in posts] == sorted((post.date for post in posts), reverse=True)
    for post in posts:
        for field in ("slug", "title", "date", "author", "standfirst", "category", "tags"):
            assert getattr(post, field), (post.slug, field)
        dt.date.fromisoformat(post.date)
        blocks = post.body_markdown.strip().split("\n\n")
        headings = [block for block in blocks if block.startswith("## ")]
        assert 1 <= len(headings) <= 2, post.slug
        assert 4 <= len(blocks) - len(headings) <= 8, post.slug
    assert any(post.modified for post in posts)  # one post declares an update


def test_parse_post_rejects_a_bad_header() -> None:
    with pytest.raises(ValueError, match="missing"):
        parse_post("title: Only a title\n\nBody.\n")
    with pytest.raises(ValueError, match="bad header"):
        parse_post("title: T\nsubtitle: nope\n\nBody.\n")


def test_correction_changes_one_post_and_only_the_intended_words(posts: list[Post]) -> None:
    corrected = apply_corrections(posts)
    changed = [(a, b) for a, b in zip(posts, corrected, strict=True) if a != b]
    assert len(changed) == 1
    before, after = changed[0]
    fix = load_corrections()[before.slug]
    assert fix["old"] in before.body_markdown
    assert fix["new"] in after.body_markdown
    assert fix["old"] not in after.body_markdown
    # A silent edit: every field but the body is the same, dates included.
    assert dataclasses.replace(after, body_markdown=before.body_markdown) == before
    assert (after.date, after.modified) == (before.date, before.modified)
    old_words, new_words = before.body_markdown.split(), after.body_markdown.split()
    assert len(old_words) == len(new_words)
    diffs = [(a, b) for a, b in zip(old_words, new_words, strict=True) if a != b]
    assert 1 <= len(diffs) <= 2
    assert all(re.search(r"\d", a) and re.search(r"\d", b) for a, b in diffs)  # a year or a day
    assert posts == load_posts()  # the originals are untouched


def test_correction_must_match_exactly_once(posts: list[Post]) -> None:
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply_corrections(posts, {posts[0].slug: {"old": "no such words", "new": "x"}})


# -- the rendered site -------------------------------------------------------------------------


def test_render_site_has_every_section(site: dict[str, tuple[str, bytes]], posts) -> None:
    expected = {"/", "/page/2/", "/page/3/", "/about/", "/archive/", "/feed.xml", "/atom.xml"}
    expected |= {"/feed.json", "/sitemap.xml", "/sitemap-posts.xml.gz", "/sitemap-pages.xml"}
    expected |= {"/robots.txt", "/style.css", "/category/policy/", "/tag/ai/"}
    expected |= {post.path for post in posts}
    assert expected <= set(site)
    assert "/page/4/" not in site
    assert render_site(posts, site_name=SITE_NAME, base_url=BASE) == site  # deterministic


def test_every_link_is_absolute(site: dict[str, tuple[str, bytes]]) -> None:
    for path, (content_type, body) in site.items():
        if content_type.startswith("text/html"):
            hrefs = parse_head(body).hrefs
            assert hrefs, path
            assert all(href.startswith(BASE + "/") for href in hrefs), path


def test_feeds_and_sitemaps_are_valid_and_list_every_post(site, posts) -> None:
    urls = {BASE + post.path for post in posts}
    rss = ET.fromstring(site["/feed.xml"][1])
    assert rss.tag == "rss"
    assert {item.findtext("link") for item in rss.iter("item")} == urls
    atom = ET.fromstring(site["/atom.xml"][1])
    assert atom.tag == f"{ATOM}feed"
    assert {e.find(f"{ATOM}link").get("href") for e in atom.iter(f"{ATOM}entry")} == urls
    feed = json.loads(site["/feed.json"][1])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert {item["url"] for item in feed["items"]} == urls
    index = ET.fromstring(site["/sitemap.xml"][1])
    assert index.tag == f"{SM}sitemapindex"
    children = [loc.text for loc in index.iter(f"{SM}loc")]
    assert children == [f"{BASE}/sitemap-posts.xml.gz", f"{BASE}/sitemap-pages.xml"]
    content_type, gz = site["/sitemap-posts.xml.gz"]
    assert content_type == "application/gzip"
    articles = ET.fromstring(gzip.decompress(gz))
    assert {url.findtext(f"{SM}loc") for url in articles} == urls
    assert all(url.findtext(f"{SM}lastmod") for url in articles)
    pages = {loc.text for loc in ET.fromstring(site["/sitemap-pages.xml"][1]).iter(f"{SM}loc")}
    assert {f"{BASE}/", f"{BASE}/about/", f"{BASE}/archive/", f"{BASE}/category/policy/"} <= pages
    assert not pages & urls


def test_robots_txt(site) -> None:
    robots = site["/robots.txt"][1].decode()
    assert "Disallow: /private/" in robots
    assert f"Sitemap: {BASE}/sitemap.xml" in robots


def test_home_page_links_feeds_and_pagination(site) -> None:
    head = parse_head(site["/"][1])
    assert head.meta["og:type"] == ["website"]
    assert head.json_ld[0]["@type"] == "Blog"
    body = site["/"][1].decode()
    for kind, path in (("rss+xml", "/feed.xml"), ("atom+xml", "/atom.xml"), ("feed+json", "")):
        assert f'type="application/{kind}"' in body
        assert f'href="{BASE}{path or "/feed.json"}"' in body
    assert f'href="{BASE}/page/2/"' in body
    assert body.count('class="post-card"') == 3


def test_article_page_looks_and_declares_like_a_blog_post(site, posts) -> None:
    post = next(p for p in posts if not p.modified)
    body = site[post.path][1]
    head = parse_head(body)
    url = BASE + post.path
    assert head.lang == "en"
    assert head.links["canonical"] == url
    assert head.meta["description"] == [post.standfirst]
    assert head.meta["og:type"] == ["article"]
    assert head.meta["og:title"] == [post.title]
    assert head.meta["og:site_name"] == [SITE_NAME]
    assert head.meta["author"] == [post.author]
    assert head.meta["article:published_time"] == [f"{post.date}T09:00:00+00:00"]
    assert "article:modified_time" not in head.meta
    assert head.meta["article:tag"] == post.tags
    [ld] = head.json_ld
    assert ld["@type"] == "BlogPosting"
    assert ld["headline"] == post.title
    assert ld["author"] == {"@type": "Person", "name": post.author}
    assert ld["datePublished"] == ld["dateModified"] == f"{post.date}T09:00:00+00:00"
    assert ld["mainEntityOfPage"]["@id"] == url
    text = body.decode()
    assert f"<title>{post.title} | {SITE_NAME}</title>" in text.replace("&#x27;", "'")
    assert ">Subscribe</a>" in text
    assert "← Blog</a>" in text
    assert text.count("<h1>") == 1
    assert "<h2>" in text.split('<div class="entry-content">')[1].split("</div>")[0]
    assert re.search(r"\d\d \w+ 2026</time> · \d+ min read · By <span", text)
    related = text.split('<aside class="related">')[1].split("</aside>")[0]
    assert related.count("<li>") == 3
    assert post.path not in related


def test_declared_update_sets_modified_time(site, posts) -> None:
    post = next(p for p in posts if p.modified)
    head = parse_head(site[post.path][1])
    assert head.meta["article:modified_time"] == [f"{post.modified}T09:00:00+00:00"]
    assert head.json_ld[0]["dateModified"] == f"{post.modified}T09:00:00+00:00"


def test_listing_pages_are_not_articles(site) -> None:
    for path in ("/page/2/", "/category/policy/", "/tag/ai/", "/archive/", "/about/"):
        head = parse_head(site[path][1])
        assert head.meta["og:type"] == ["website"], path
        assert head.json_ld[0]["@type"] in {"CollectionPage", "Blog", "AboutPage"}, path
        assert "article:published_time" not in head.meta, path


def test_everything_is_escaped(posts) -> None:
    title = "<script>alert('x')</script> & \"quotes\""
    evil = dataclasses.replace(posts[0], title=title, tags=["<b>bold</b>", *posts[0].tags])
    site = render_site([evil, *posts[1:]], site_name="A <i>site</i>", base_url=BASE)
    for path, (_, body) in site.items():
        if path.endswith(".json"):
            continue  # JSON Feed titles are plain text; json.loads below checks the round trip
        if path.endswith(".gz"):
            body = gzip.decompress(body)
        assert b"<script>alert" not in body, path
        assert b"<b>bold" not in body, path
        assert b"<i>site" not in body, path
    article = site[evil.path][1].decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in article
    assert parse_head(site[evil.path][1]).json_ld[0]["headline"] == title
    rss = ET.fromstring(site["/feed.xml"][1])
    assert title in {item.findtext("title") for item in rss.iter("item")}
    assert json.loads(site["/feed.json"][1])["items"][0]["title"] == title


def test_plain_text_drops_markup(posts) -> None:
    text = plain_text(posts[0].body_markdown)
    assert "## " not in text
    assert text.count("\n\n") >= 4


# -- the HTTP server ---------------------------------------------------------------------------


def test_server_serves_the_blog_over_http(server: SiteServer, posts) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    status, headers, body = fetch(server.base_url + posts[0].path)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    assert re.fullmatch(r'"[0-9a-f]{64}"', headers["ETag"])  # sha256 of the body
    assert headers["Last-Modified"].endswith("GMT")
    assert posts[0].title.encode() in body
    assert f'href="{server.base_url}/feed.xml"'.encode() in body  # rendered for this port
    status, _, robots = fetch(server.base_url + "/robots.txt")
    assert f"Sitemap: {server.base_url}/sitemap.xml".encode() in robots


def test_server_status_codes(server: SiteServer, posts) -> None:
    status, _, body = fetch(server.base_url + "/no/such/page/")
    assert status == 404
    assert b"Not found" in body
    status, headers, _ = fetch(server.base_url + posts[0].path.rstrip("/") + "?ref=x")
    assert status == 301
    assert headers["Location"] == f"{server.base_url}{posts[0].path}?ref=x"
    status, _, body = fetch(server.base_url + posts[0].path + "?utm_source=feed")
    assert status == 200  # the query string is ignored
    status, headers, body = fetch(server.base_url + "/feed.xml", method="HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 0


def test_server_answers_conditional_requests(server: SiteServer) -> None:
    url = server.base_url + "/"
    _, headers, _ = fetch(url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert fetch(url, **{"If-None-Match": etag})[0] == 304
    assert fetch(url, **{"If-None-Match": f'"other", W/{etag}'})[0] == 304
    assert fetch(url, **{"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, **{"If-Modified-Since": last_modified})[0] == 304
    assert fetch(url, **{"If-Modified-Since": formatdate(0, usegmt=True)})[0] == 200
    # If-None-Match wins: a stale ETag means 200 even with a fresh date.
    assert fetch(url, **{"If-None-Match": '"x"', "If-Modified-Since": last_modified})[0] == 200


def test_publish_swaps_content_and_hits_counts(server: SiteServer, posts) -> None:
    corrected = apply_corrections(posts)
    [edited] = [new for old, new in zip(posts, corrected, strict=True) if old != new]
    fix = load_corrections()[edited.slug]
    url = server.base_url + edited.path
    _, before, body = fetch(url)
    assert fix["old"].encode() in body
    _, other_before, _ = fetch(server.base_url + "/about/")
    server.publish_posts(corrected)
    status, after, body = fetch(url)
    assert status == 200
    assert fix["new"].encode() in body
    assert after["ETag"] != before["ETag"]
    assert fetch(url, **{"If-None-Match": before["ETag"]})[0] == 200
    assert fetch(url, **{"If-Modified-Since": before["Last-Modified"]})[0] == 200
    _, other_after, _ = fetch(server.base_url + "/about/")
    assert other_after["ETag"] == other_before["ETag"]
    assert other_after["Last-Modified"] == other_before["Last-Modified"]
    assert server.hits[edited.path] == 4
    assert server.hits["/about/"] == 2
    assert "/private/" not in server.hits
    server.publish({"/only/": ("text/plain", b"one page")})
    assert fetch(server.base_url + "/only/")[2] == b"one page"
    assert fetch(url)[0] == 404


def test_server_without_renderer_and_close_twice() -> None:
    server = SiteServer({"/": ("text/plain", b"hi")})
    with server:
        assert fetch(server.base_url + "/")[2] == b"hi"
        with pytest.raises(RuntimeError):
            server.publish_posts([])
    server.close()  # harmless


# -- the corpus blog ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> list[Any]:
    if not (corpus_dir() / "ground-truth.json").exists():
        pytest.skip(f"no corpus at {corpus_dir()}")
    return load_corpus()


class _Identity(HTMLParser):
    """The raw text of every canonical <link> and og:url <meta> tag, found by a real parser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "").lower() for k, v in attrs}
        canonical = tag == "link" and "canonical" in a.get("rel", "").split()
        og_url = tag == "meta" and "og:url" in (a.get("property"), a.get("name"))
        if canonical or og_url:
            self.tags.append(self.get_starttag_text() or "")

    handle_startendtag = handle_starttag


def _identity_tags(page_html: str) -> list[str]:
    parser = _Identity()
    parser.feed(page_html)
    parser.close()
    return parser.tags


@pytest.mark.corpus
def test_corpus_blog_serves_original_pages_without_their_identity(corpus) -> None:
    assert len(corpus) >= 50
    assert [page.id for page in corpus] == sorted(page.id for page in corpus)
    assert all(page.url.startswith("http") and page.truth for page in corpus)
    site = render_corpus_blog(corpus, BASE + "/")
    articles = {path: body for path, (_, body) in site.items() if path.startswith("/articles/")}
    assert len(articles) == len(corpus) >= 50
    stripped = 0
    for page in corpus:
        served = articles[f"/articles/{page.id}/"].decode("utf-8")
        tags = _identity_tags(page.html)
        stripped += bool(tags)
        expected = page.html
        for tag in tags:
            expected = expected.replace(tag, "", 1)
        assert served == expected, page.id  # only those tags removed, every other byte kept
        assert not _identity_tags(served), page.id
    assert stripped >= 50


@pytest.mark.corpus
def test_corpus_blog_discovery_pages(corpus) -> None:
    site = render_corpus_blog(corpus, BASE, per_page=10)
    urls = {f"{BASE}/articles/{page.id}/" for page in corpus}
    rss = ET.fromstring(site["/feed.xml"][1])
    feed_urls = [item.findtext("link") for item in rss.iter("item")]
    assert len(feed_urls) == FEED_SIZE
    assert set(feed_urls) < urls
    sitemap = ET.fromstring(site["/sitemap.xml"][1])
    assert {loc.text for loc in sitemap.iter(f"{SM}loc")} == urls
    pages = [path for path in site if path == "/" or path.startswith("/page/")]
    assert len(pages) == -(-len(corpus) // 10)
    link = re.compile(rf'href="({re.escape(BASE)}/articles/[0-9a-f]+/)"')
    listed = {url for path in pages for url in link.findall(site[path][1].decode())}
    assert listed == urls
    assert f"Sitemap: {BASE}/sitemap.xml" in site["/robots.txt"][1].decode()
    titles = [page_title(page.html) for page in corpus]
    assert sum(title != "Untitled" for title in titles) >= 50


@pytest.mark.corpus
def test_corpus_blog_over_http(corpus) -> None:
    with serve_corpus_blog(limit=3) as server:
        page = corpus[0]
        status, _, body = fetch(f"{server.base_url}/articles/{page.id}/")
        assert status == 200
        removed = sum(len(tag.encode()) for tag in _identity_tags(page.html))
        assert len(body) == len(page.html.encode()) - removed
        status, _, listing = fetch(server.base_url + "/")
        assert f"/articles/{page.id}/".encode() in listing
