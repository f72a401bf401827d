"""The benchmark blog: N posts made from the corpus pages, with listings, a feed and a sitemap.

Nothing is stored per post: a post is rendered from its corpus template when it is asked for, so
N = 20,000 posts (3 GB of HTML) cost no more memory than N = 200. Post ``i`` is corpus page
``i mod 111`` with its own title suffix and sentence, at ``/articles/post-<i>/``.

Two switches model what a recrawl meets: ``validators`` (ETag and Last-Modified, 304 answers to
conditional requests) and ``edited`` (every tenth post carries a revised sentence).
"""

from __future__ import annotations

import gzip
import html
import zlib
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from bench.corpus import marker

if TYPE_CHECKING:
    from bench.corpus import Template

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
PER_PAGE = 20  # posts per listing page
FEED_SIZE = 50  # newest posts in the RSS feed
SITEMAP_PART = 1000  # URLs per gzipped sitemap
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: post i was last modified i minutes later
EDIT_DELAY = 10_000_000  # an edited post was modified this many seconds after that
EDIT_EVERY = 10  # in edited mode, posts 0, 10, 20… carry the revised sentence


@dataclass(frozen=True)
class Resource:
    """One answer of the site."""

    content_type: str
    body: bytes
    etag: str
    last_modified: int
    """Seconds since the epoch."""

    def http_date(self) -> str:
        return formatdate(self.last_modified, usegmt=True)


def post_path(post: int) -> str:
    """The path of post ``post``.

    Not ``/articles/<n>/``: Palimpsest takes a last segment from 1900 to 2099 for a year archive.

    >>> post_path(42)
    '/articles/post-42/'
    """
    return f"/articles/post-{post}/"


def post_number(url: str) -> int | None:
    """The post a URL or path points to, or None.

    >>> post_number("http://127.0.0.1:8080/articles/post-42/"), post_number("/page/2/")
    (42, None)
    """
    _, sep, rest = url.partition("/articles/post-")
    number = rest.strip("/")
    return int(number) if sep and number.isdigit() else None


class Blog:
    """The site of ``n`` posts at ``base_url``; ``render(path)`` answers one request."""

    def __init__(self, templates: list[Template], n: int, base_url: str) -> None:
        self.templates = templates
        self.n = n
        self.base_url = base_url.rstrip("/")
        self.edited = False
        self.pages = max(1, -(-n // PER_PAGE))
        self.sitemap_parts = max(1, -(-n // SITEMAP_PART))

    def is_edited(self, post: int) -> bool:
        """Whether ``post`` shows its revised version right now."""
        return self.edited and post % EDIT_EVERY == 0

    def template(self, post: int) -> Template:
        return self.templates[post % len(self.templates)]

    def title(self, post: int) -> str:
        return f"{self.template(post).title} (post {post})"

    def post_body(self, post: int, edited: bool = False) -> bytes:
        """The HTML of post ``post``, as first published or as revised."""
        t = self.template(post)
        suffix = f" (post {post})".encode()
        # og:url names the post in trafilatura's output ("source"); Palimpsest ignores it.
        og_url = f'\n<meta property="og:url" content="{self.base_url}{post_path(post)}">'.encode()
        sentence = marker(post, edited).encode()
        return b"".join((t.head, suffix, t.title_close, og_url, t.middle, sentence, t.tail))

    def post(self, post: int) -> Resource:
        edited = self.is_edited(post)
        modified = EPOCH + 60 * post + (EDIT_DELAY if edited else 0)
        etag = f'"p{post}-{"r" if edited else "o"}"'
        return Resource(HTML, self.post_body(post, edited), etag, modified)

    def render(self, path: str) -> Resource | None:
        """The resource at ``path`` (without query string), or None for a 404."""
        number = post_number(path)
        if number is not None:
            return self.post(number) if 0 <= number < self.n and path == post_path(number) else None
        if path == "/":
            return _static(HTML, self._listing(1))
        if path.startswith("/page/") and path.endswith("/") and path[6:-1].isdigit():
            page = int(path[6:-1])
            return _static(HTML, self._listing(page)) if 2 <= page <= self.pages else None
        if path.startswith("/sitemaps/posts-") and path.endswith(".xml.gz"):
            part = path[len("/sitemaps/posts-") : -len(".xml.gz")]
            if part.isdigit() and int(part) < self.sitemap_parts:
                return _static("application/x-gzip", self._sitemap_part(int(part)))
            return None
        if path == "/sitemap.xml":
            return _static(XML, self._sitemap_index())
        if path == "/feed.xml":
            return _static("application/rss+xml; charset=utf-8", self._feed())
        if path == "/robots.txt":
            robots = f"User-agent: *\nDisallow: /_bench/\n\nSitemap: {self.base_url}/sitemap.xml\n"
            return _static("text/plain; charset=utf-8", robots.encode())
        return None

    def _newest_first(self, start: int, count: int) -> range:
        """Posts ``start``… of the list that has the newest (highest number) first."""
        top = self.n - 1 - start
        return range(top, max(top - count, -1), -1)

    def _listing(self, page: int) -> bytes:
        items = "\n".join(
            f'<li><a href="{post_path(i)}">{html.escape(self.title(i))}</a></li>'
            for i in self._newest_first((page - 1) * PER_PAGE, PER_PAGE)
        )
        nav = []
        if page > 1:
            nav.append(
                f'<a rel="prev" href="{"/" if page == 2 else f"/page/{page - 1}/"}">Newer</a>'
            )
        if page < self.pages:
            nav.append(f'<a rel="next" href="/page/{page + 1}/">Older</a>')
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>Benchmark blog, page {page} of {self.pages}</title>\n"
            '<link rel="alternate" type="application/rss+xml" href="/feed.xml">\n'
            f"</head><body><h1>Benchmark blog</h1>\n<ul>\n{items}\n</ul>\n"
            f"<nav>{' '.join(nav)}</nav></body></html>\n"
        ).encode()

    def _feed(self) -> bytes:
        items = "".join(
            f"<item><title>{escape(self.title(i))}</title>"
            f"<link>{self.base_url}{post_path(i)}</link>"
            f"<guid>{self.base_url}{post_path(i)}</guid>"
            f"<pubDate>{formatdate(EPOCH + 60 * i, usegmt=True)}</pubDate></item>\n"
            for i in self._newest_first(0, FEED_SIZE)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n'
            f"<title>Benchmark blog</title><link>{self.base_url}/</link>"
            f"<description>Corpus pages as posts</description>\n{items}</channel></rss>\n"
        ).encode()

    def _sitemap_index(self) -> bytes:
        parts = "".join(
            f"<sitemap><loc>{self.base_url}/sitemaps/posts-{k}.xml.gz</loc></sitemap>\n"
            for k in range(self.sitemap_parts)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{parts}</sitemapindex>\n"
        ).encode()

    @lru_cache(maxsize=64)  # noqa: B019  # one Blog per server process; parts are ~10 KB
    def _sitemap_part(self, part: int) -> bytes:
        first = part * SITEMAP_PART
        urls = "".join(
            f"<url><loc>{self.base_url}{post_path(i)}</loc></url>\n"
            for i in range(first, min(first + SITEMAP_PART, self.n))
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n"
        )
        return gzip.compress(xml.encode(), mtime=0)


def _static(content_type: str, body: bytes) -> Resource:
    """A listing, feed or sitemap: validators from the body itself."""
    return Resource(content_type, body, f'"{zlib.crc32(body):08x}"', EPOCH)
