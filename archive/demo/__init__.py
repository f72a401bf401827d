"""The demo blog "Lanternfield Review": sample posts, a static renderer and a local HTTP server.

Used by ``palimpsest demo`` and by the tests. Standard library only (no Scrapy), like all of
``archive/``.

    >>> from archive.demo import load_posts, serve_blog, apply_corrections
    >>> with serve_blog(load_posts()) as server:  # doctest: +SKIP
    ...     ...  # crawl server.base_url, then simulate the silent edit:
    ...     server.publish_posts(apply_corrections(load_posts()))
"""

from __future__ import annotations

from archive.demo.posts import Post, apply_corrections, load_posts
from archive.demo.server import SiteServer
from archive.demo.site import SITE_NAME, render_site, serve_blog

__all__ = [
    "SITE_NAME",
    "Post",
    "SiteServer",
    "apply_corrections",
    "load_posts",
    "render_site",
    "serve_blog",
]
