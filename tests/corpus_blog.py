"""A local blog of the real article pages in ``../shared/corpus``, for crawls at realistic scale.

Each page's original HTML is served at ``/articles/<id>/``, byte for byte, except that its
``<link rel="canonical">`` and ``og:url`` tags are removed so that its identity is the local URL.
Generated listing pages, a short RSS feed (first 20 articles only), a sitemap and robots.txt let a
crawler discover them the way it would on a real site.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from archive.demo.server import SiteServer

if TYPE_CHECKING:
    from collections.abc import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
FEED_SIZE = 20
HTML_TYPE = "text/html; charset=utf-8"

_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
# (?<![\w-]) so that data-rel="canonical" and the like are left alone.
_REL_CANONICAL = re.compile(r"""(?<![\w-])rel\s*=\s*["']?\s*canonical\b""", re.IGNORECASE)
_OG_URL = re.compile(r"""(?<![\w-])(?:property|name)\s*=\s*["']?og:url\b""", re.IGNORECASE)


@dataclass(frozen=True)
class CorpusPage:
    """One page of the shared corpus."""

    id: str
    """The sha256 stem of ``html/<id>.html.gz``."""
    url: str
    """Where the page was originally published (from ground-truth.json)."""
    html: str
    """The page as captured, decoded as UTF-8."""
    truth: str
    """The article text as a person marked it (``articleBody``)."""


def corpus_dir() -> Path:
    """``$PALIMPSEST_CORPUS``, or ``<repo>/../shared/corpus``."""
    return Path(os.environ.get("PALIMPSEST_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))


def load_corpus(limit: int | None = None) -> list[CorpusPage]:
    """The corpus pages sorted by id, at most ``limit`` of them."""
    root = corpus_dir()
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    files = sorted((root / "html").glob("*.html.gz"))[:limit]
    pages = []
    for path in files:
        page_id = path.name.removesuffix(".html.gz")
        entry = truth.get(page_id, {})
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        pages.append(CorpusPage(page_id, entry.get("url", ""), text, entry.get("articleBody", "")))
    return pages


def _drop_if(pattern: re.Pattern[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        tag = match.group(0)
        return "" if pattern.search(tag) else tag

    return replace


def strip_identity(page_html: str) -> str:
    """Remove ``<link rel="canonical">`` and ``og:url`` tags; leave every other byte alone.

    A regex over the text, not a parser round trip, so the rest of the page is untouched.
    """
    page_html = _LINK_TAG.sub(_drop_if(_REL_CANONICAL), page_html)
    return _META_TAG.sub(_drop_if(_OG_URL), page_html)


class _TitleParser(HTMLParser):
    """Finds the document's first ``<title>`` outside ``<svg>`` (icons carry titles too)."""

    def __init__(self) -> None:
        super().__init__()
        self.svg_depth = 0
        self.in_title = False
        self.parts: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.svg_depth += 1
        elif tag == "title" and not self.svg_depth and not self.done:
            self.in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.svg_depth = max(0, self.svg_depth - 1)
        elif tag == "title" and self.in_title:
            self.in_title, self.done = False, True

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.parts.append(data)


def page_title(page_html: str, default: str = "Untitled") -> str:
    """The text of the page's ``<title>``, whitespace collapsed."""
    parser = _TitleParser()
    for start in range(0, len(page_html), 8192):  # the title is near the top: stop once found
        parser.feed(page_html[start : start + 8192])
        if parser.done:
            break
    parser.close()
    return " ".join("".join(parser.parts).split()) or default


def _listing(base_url: str, titles: dict[str, str], number: int, total: int) -> bytes:
    items = "\n".join(
        f'<li><a href="{base_url}/articles/{page_id}/">{html.escape(title)}</a></li>'
        for page_id, title in titles.items()
    )
    links = []
    if number > 1:
        prev = "/" if number == 2 else f"/page/{number - 1}/"
        links.append(f'<a rel="prev" href="{base_url}{prev}">Newer</a>')
    if number < total:
        links.append(f'<a rel="next" href="{base_url}/page/{number + 1}/">Older</a>')
    body = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Corpus blog, page {number} of {total}</title>\n"
        f'<link rel="alternate" type="application/rss+xml" href="{base_url}/feed.xml">\n'
        f"</head>\n<body>\n<h1>Corpus blog</h1>\n<ul>\n{items}\n</ul>\n"
        f"<nav>{' '.join(links)}</nav>\n</body>\n</html>\n"
    )
    return body.encode()


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _feed(base_url: str, titles: dict[str, str]) -> bytes:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    for tag, text in (("title", "Corpus blog"), ("link", f"{base_url}/"), ("description", "-")):
        ET.SubElement(channel, tag).text = text
    for page_id, title in list(titles.items())[:FEED_SIZE]:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = title
        ET.SubElement(item, "link").text = f"{base_url}/articles/{page_id}/"
        ET.SubElement(item, "guid").text = f"{base_url}/articles/{page_id}/"
    return _xml(rss)


def _sitemap(base_url: str, pages: list[CorpusPage]) -> bytes:
    urlset = ET.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    for page in pages:
        ET.SubElement(ET.SubElement(urlset, "url"), "loc").text = f"{base_url}/articles/{page.id}/"
    return _xml(urlset)


def render_corpus_blog(
    pages: list[CorpusPage], base_url: str, per_page: int = 10
) -> dict[str, tuple[str, bytes]]:
    """The corpus as a site: URL path -> (content type, body)."""
    base_url = base_url.rstrip("/")
    site: dict[str, tuple[str, bytes]] = {}
    for page in pages:
        site[f"/articles/{page.id}/"] = (HTML_TYPE, strip_identity(page.html).encode("utf-8"))
    titles = {page.id: page_title(page.html) for page in pages}
    ids = list(titles)
    chunks = [ids[i : i + per_page] for i in range(0, len(ids), per_page)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        path = "/" if number == 1 else f"/page/{number}/"
        chunk_titles = {page_id: titles[page_id] for page_id in chunk}
        site[path] = (HTML_TYPE, _listing(base_url, chunk_titles, number, len(chunks)))
    site["/feed.xml"] = ("application/rss+xml; charset=utf-8", _feed(base_url, titles))
    site["/sitemap.xml"] = ("application/xml; charset=utf-8", _sitemap(base_url, pages))
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {base_url}/sitemap.xml\n"
    site["/robots.txt"] = ("text/plain; charset=utf-8", robots.encode())
    return site


def serve_corpus_blog(limit: int | None = None, port: int = 0) -> SiteServer:
    """Bind a SiteServer, then render the corpus blog with its base URL; close it when done."""
    server = SiteServer(port=port)
    server.publish(render_corpus_blog(load_corpus(limit), server.base_url))
    return server
