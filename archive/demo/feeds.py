"""Machine-readable views of the demo blog: RSS 2.0, Atom, JSON Feed 1.1, sitemaps and robots.txt.

XML is built with ElementTree so that escaping and well-formedness are not our problem. Everything
is derived from the posts alone (no clock), so the same posts always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from typing import TYPE_CHECKING

from archive.demo.posts import iso_datetime, markdown_to_html, slugify

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archive.demo.posts import Post

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

# Process-wide, but these are the prefixes every feed reader expects (dc is registered already).
ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("content", CONTENT_NS)

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def last_update(posts: Sequence[Post]) -> str:
    """The newest publication or modification date among ``posts``, ``YYYY-MM-DD``."""
    return max((post.modified or post.date for post in posts), default="2026-01-01")


def _rfc822(date: str) -> str:
    return format_datetime(dt.datetime.fromisoformat(iso_datetime(date)))


def rss_feed(posts: Sequence[Post], *, site_name: str, base_url: str, description: str) -> bytes:
    """RSS 2.0 with full content in ``content:encoded``, as WordPress publishes it."""
    rss = ET.Element("rss", version="2.0")
    channel = _sub(rss, "channel")
    _sub(channel, "title", site_name)
    _sub(channel, "link", f"{base_url}/")
    _sub(channel, "description", description)
    _sub(channel, "language", "en")
    _sub(channel, "lastBuildDate", _rfc822(last_update(posts)))
    _sub(
        channel,
        f"{{{ATOM_NS}}}link",
        href=f"{base_url}/feed.xml",
        rel="self",
        type="application/rss+xml",
    )
    for post in posts:
        item = _sub(channel, "item")
        _sub(item, "title", post.title)
        _sub(item, "link", base_url + post.path)
        _sub(item, "guid", base_url + post.path, isPermaLink="true")
        _sub(item, "pubDate", _rfc822(post.date))
        _sub(item, f"{{{DC_NS}}}creator", post.author)
        for name in [post.category, *post.tags]:
            _sub(item, "category", name)
        _sub(item, "description", post.standfirst)
        _sub(item, f"{{{CONTENT_NS}}}encoded", markdown_to_html(post.body_markdown))
    return _xml(rss)


def atom_feed(posts: Sequence[Post], *, site_name: str, base_url: str, description: str) -> bytes:
    """An Atom 1.0 feed; entry ids are the article URLs, which never change here."""
    # A literal xmlns attribute gives the usual unprefixed <feed>; ET's default_namespace option
    # would reject Atom's unqualified attributes (href, rel, term).
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _sub(feed, "title", site_name)
    _sub(feed, "subtitle", description)
    _sub(feed, "id", f"{base_url}/")
    _sub(feed, "updated", iso_datetime(last_update(posts)))
    _sub(feed, "link", href=f"{base_url}/", rel="alternate", type="text/html")
    _sub(feed, "link", href=f"{base_url}/atom.xml", rel="self")
    for post in posts:
        entry = _sub(feed, "entry")
        _sub(entry, "title", post.title)
        _sub(entry, "id", base_url + post.path)
        _sub(entry, "link", href=base_url + post.path, rel="alternate")
        _sub(entry, "published", post.published_at)
        _sub(entry, "updated", post.updated_at)
        author = _sub(entry, "author")
        _sub(author, "name", post.author)
        for name in [post.category, *post.tags]:
            _sub(entry, "category", term=name)
        _sub(entry, "summary", post.standfirst)
        content = markdown_to_html(post.body_markdown)
        _sub(entry, "content", content, type="html")
    return _xml(feed)


def json_feed(posts: Sequence[Post], *, site_name: str, base_url: str, description: str) -> bytes:
    """A JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": site_name,
        "home_page_url": f"{base_url}/",
        "feed_url": f"{base_url}/feed.json",
        "description": description,
        "language": "en",
        "items": [
            {
                "id": base_url + post.path,
                "url": base_url + post.path,
                "title": post.title,
                "summary": post.standfirst,
                "content_html": markdown_to_html(post.body_markdown),
                "date_published": post.published_at,
                "date_modified": post.updated_at,
                "authors": [{"name": post.author}],
                "tags": [post.category, *post.tags],
            }
            for post in posts
        ],
    }
    return json.dumps(feed, indent=2, ensure_ascii=False).encode() + b"\n"


def _urlset(entries: Sequence[tuple[str, str]]) -> bytes:
    urlset = ET.Element("urlset", xmlns=SITEMAP_NS)
    for loc, lastmod in entries:
        url = _sub(urlset, "url")
        _sub(url, "loc", loc)
        _sub(url, "lastmod", lastmod)
    return _xml(urlset)


def sitemaps(posts: Sequence[Post], *, base_url: str) -> dict[str, tuple[str, bytes]]:
    """The sitemap index and its two children, keyed by path.

    Returns:
        ``/sitemap.xml`` (index), ``/sitemap-posts.xml.gz`` (gzip urlset of articles with lastmod)
        and ``/sitemap-pages.xml`` (home, about, archive, category pages).
    """
    latest = last_update(posts)
    articles = _urlset([(base_url + post.path, post.modified or post.date) for post in posts])
    categories = sorted({slugify(post.category) for post in posts})
    pages = _urlset(
        [(f"{base_url}{path}", latest) for path in ("/", "/about/", "/archive/")]
        + [(f"{base_url}/category/{name}/", latest) for name in categories]
    )
    index = ET.Element("sitemapindex", xmlns=SITEMAP_NS)
    for name in ("sitemap-posts.xml.gz", "sitemap-pages.xml"):
        entry = _sub(index, "sitemap")
        _sub(entry, "loc", f"{base_url}/{name}")
        _sub(entry, "lastmod", latest)
    return {
        "/sitemap.xml": (XML_TYPE, _xml(index)),
        # mtime=0 keeps the gzip bytes (and so the ETag) identical between runs.
        "/sitemap-posts.xml.gz": ("application/gzip", gzip.compress(articles, mtime=0)),
        "/sitemap-pages.xml": (XML_TYPE, pages),
    }


def robots_txt(base_url: str) -> bytes:
    """robots.txt that keeps crawlers out of ``/private/`` and points them at the sitemap index."""
    return (
        f"User-agent: *\nDisallow: /private/\nAllow: /\n\nSitemap: {base_url}/sitemap.xml\n"
    ).encode()
