"""Every post listed in the site's sitemaps (found through robots.txt)."""

from __future__ import annotations

from typing import Any

from scrapy.spiders import SitemapSpider


class PostsSpider(SitemapSpider):
    name = "posts"
    sitemap_rules = [("/articles/", "parse_post")]

    def __init__(self, site: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sitemap_urls = [site.rstrip("/") + "/robots.txt"]

    def parse_post(self, response: Any) -> Any:
        yield {"url": response.url, "html": response.text}
