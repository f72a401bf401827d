"""Pure functions the spider uses to find articles: feeds, sitemaps, and "is this an article?".

Scrapy-free: the extraction workers (``scraper.pagework``) classify pages with it too.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import lxml.etree

from archive.pagemeta import ARTICLE_TYPES, json_ld_types
from archive.urls import host_of, is_http_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "text/xml",
    "application/xml",
}
# Where feeds usually live when a home page does not announce them.
USUAL_FEED_PATHS = ("/feed/", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")

LISTING_TYPES = {
    "AboutPage",
    "Blog",
    "CollectionPage",
    "ContactPage",
    "ItemList",
    "ProfilePage",
    "SearchResultsPage",
}
# Paths of listing and utility pages: followed for links, never archived as articles.
LISTING_PATH = re.compile(
    r"/(tags?|categor(y|ies)|topics?|authors?|page|archives?|search|about|contact|subscribe"
    r"|feed|wp-json|label)(/|$)"
    r"|^/?$",
    re.IGNORECASE,
)
# Year and month archives (/2024/, /blog/2024/05/). Checked after the page's own article metadata:
# an article may well live at /articles/1999/.
DATE_ARCHIVE_PATH = re.compile(r"/(19|20)\d\d/?$|/(19|20)\d\d/\d\d/?$")
LISTING_QUERY = re.compile(r"(^|&)(page|paged|p|s|q|tag|cat|category)=", re.IGNORECASE)
# URL shapes of posts: a date in the path, a post-ish directory, or a long hyphenated slug.
ARTICLE_PATH = re.compile(
    r"/(19|20)\d\d/\d\d?/(\d\d?/)?[^/]+"
    r"|/(posts?|articles?|blog|news|stories|story|p)/[^/]+"
    r"|/[a-z0-9]+(-[a-z0-9]+){3,}(/|\.html?)?$",
    re.IGNORECASE,
)
# Links never worth following: accounts, sharing, printing, comment feeds, admin.
DENY_LINKS = (
    r"/(wp-admin|wp-login|login|logout|signin|signup|register|cart|checkout|print|share)\b",
    r"[?&](replytocom|share|print|action|redirect_to)=",
    r"/comments/feed/?$",
    r"/(feed|rss|atom)(\.xml)?/?$",
)

_XML_PARSER = lxml.etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_pis=True
)


def feed_links_in_html(tree: HtmlElement, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate">``, absolute, in page order."""
    urls: dict[str, None] = {}
    for link in tree.xpath('//link[@href][contains(concat(" ", @rel, " "), " alternate ")]'):
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if kind in FEED_TYPES and "comments" not in link.get("href", ""):
            url = urljoin(base_url, link.get("href").strip())
            if is_http_url(url):
                urls.setdefault(url, None)
    return list(urls)


def canonical_url(tree: HtmlElement, url: str) -> str:
    """The page's ``rel=canonical`` when it points into the same site, else its own URL.

    An AMP copy on an ``amp.`` subdomain counts as the same site.
    """
    hrefs = tree.xpath('//head/link[@rel="canonical"]/@href')
    if hrefs:
        canonical = urljoin(url, str(hrefs[0]).strip())
        here, there = host_of(url).removeprefix("amp."), host_of(canonical).removeprefix("amp.")
        if is_http_url(canonical) and here == there:
            return canonical
    return url


def entries_in_feed(body: bytes, base_url: str) -> list[str]:
    """Entry URLs of an RSS, RDF, Atom or JSON feed. Entities are never resolved.

    >>> entries_in_feed(b'<rss><channel><item><link>/a</link></item></channel></rss>', "http://x.test/")
    ['http://x.test/a']
    """
    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            items = json.loads(text).get("items", [])
        except (ValueError, AttributeError, RecursionError):
            return []
        links = [
            i.get("url") for i in items if isinstance(i, dict) and isinstance(i.get("url"), str)
        ]
    else:
        try:
            root = lxml.etree.fromstring(text, parser=_XML_PARSER)
        except lxml.etree.XMLSyntaxError:
            return []
        if root is None:
            return []
        links = root.xpath(
            "//*[local-name()='item']/*[local-name()='link']/text()"
            " | //*[local-name()='entry']/*[local-name()='link']"
            "[not(@rel) or @rel='alternate']/@href"
        )
    urls = (urljoin(base_url, str(link).strip()) for link in links if str(link).strip())
    return list(dict.fromkeys(url for url in urls if is_http_url(url)))


def is_feed_body(body: bytes) -> bool:
    """Whether a body looks like a feed rather than an HTML page."""
    head = body[:1024].lstrip().lower()
    return head.startswith(b"{") or b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def is_listing_url(url: str) -> bool:
    """Whether the URL alone says "listing page" (home, tags, pagination, search…): decided
    without parsing the page, and before anything the page says about itself.

    >>> is_listing_url("http://x.test/tag/rust/"), is_listing_url("http://x.test/2024/05/a-post/")
    (True, False)
    """
    parts = urlsplit(url)
    return bool(LISTING_PATH.search(parts.path) or LISTING_QUERY.search(parts.query))


def classify_page(tree: HtmlElement, url: str, via: str) -> tuple[bool, str]:
    """Decide whether a fetched page is an article, and say why.

    Signals, strongest first: JSON-LD types, ``og:type``, being listed in a feed or sitemap, the
    URL's shape, and how many ``<article>`` elements the page holds.
    """
    if is_listing_url(url):
        return False, "listing-url"
    parts = urlsplit(url)
    types = json_ld_types(tree)
    if types & ARTICLE_TYPES:
        return True, "json-ld"
    og_type = (tree.xpath('string(//meta[@property="og:type"]/@content)') or "").strip().lower()
    if og_type == "article":
        return True, "og:type"
    if DATE_ARCHIVE_PATH.search(parts.path):
        return False, "listing-url"
    if types & LISTING_TYPES:
        return False, "json-ld-listing"
    if len(tree.xpath("//article")) > 2:
        return False, "many-articles"
    if via == "feed":
        return True, "feed"
    # Weak signals last. Many CMSs stamp og:type=website on every page, posts included, so it only
    # decides when neither the URL nor a publication time says "post".
    if tree.xpath('//meta[@property="article:published_time"]'):
        return True, "published-time"
    if ARTICLE_PATH.search(parts.path):
        return True, "url-shape"
    if og_type in ("website", "profile", "blog"):
        return False, "og:type-website"
    return False, "no-article-signal"
