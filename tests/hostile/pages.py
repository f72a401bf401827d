"""Pages for the hostile sites: articles with enough text to extract, feeds, listings, robots.txt."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

LOREM = (
    "The harbour commission met on Thursday to review the dredging contract, and members asked "
    "for a full account of the costs before the next tender is published in the spring."
)


def paragraphs(marker: str, n: int = 4) -> list[str]:
    """``n`` distinct paragraphs, each carrying ``marker`` so a test can find them in the archive."""
    return [f"{marker} paragraph {i}. {LOREM}" for i in range(1, n + 1)]


def article(
    title: str,
    paras: Iterable[str],
    *,
    author: str = "Ann Reporter",
    head: str = "",
    escape_text: bool = True,
) -> str:
    """A blog post page that trafilatura extracts: title, byline, paragraphs."""
    esc = escape if escape_text else (lambda s: s)
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paras)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head>"
        f"{head}<title>{esc(title)}</title>"
        f"<meta name='author' content='{esc(author)}'>"
        "<meta property='og:type' content='article'>"
        "</head><body><header><a href='/'>Home</a></header>"
        f"<article><h1>{esc(title)}</h1><p class='byline'>By {esc(author)}</p>\n{body}\n</article>"
        "<footer>Hostile Gazette</footer></body></html>"
    )


def listing(title: str, links: Iterable[str], *, head: str = "") -> str:
    """A listing page (followed for links, never archived)."""
    items = "".join(f"<li><a href='{escape(href)}'>{escape(href)}</a></li>" for href in links)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{escape(title)}</title>"
        "<meta property='og:type' content='website'></head>"
        f"<body><h1>{escape(title)}</h1><ul>{items}</ul></body></html>"
    )


def rss(base_url: str, links: Iterable[str], *, doctype: str = "") -> str:
    """An RSS 2.0 feed whose items link to ``links`` (relative or absolute)."""
    items = "".join(
        f"<item><title>{escape(link)}</title><link>{escape(link)}</link></item>" for link in links
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel>'
        f"<title>Hostile Gazette</title><link>{base_url}/</link>{items}</channel></rss>"
    )


def robots(*, disallow: Iterable[str] = (), sitemap: str | None = None) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallow)]
    if sitemap:
        lines.append(f"Sitemap: {sitemap}")
    return "\n".join(lines) + "\n"


def home_with_feed(title: str, links: Iterable[str] = ()) -> str:
    """A home page that announces ``/feed.xml`` and links to ``links``."""
    head = "<link rel='alternate' type='application/rss+xml' href='/feed.xml'>"
    return listing(title, links, head=head)


def route_feed_blog(server: Any, title: str, posts: Iterable[str]) -> None:
    """Route a home page announcing ``/feed.xml``, that feed listing ``posts``, and robots.txt."""
    links = list(posts)
    server.routes["/"] = lambda ex: ex.html(home_with_feed(title))
    server.routes["/feed.xml"] = lambda ex: ex.send(
        rss(server.base_url, links), content_type="application/rss+xml"
    )
    server.routes["/robots.txt"] = lambda ex: ex.send(robots(), content_type="text/plain")
