"""The ``blog`` spider: find a site's articles through its feeds, sitemaps and listing pages.

It decides *which* URLs are articles and fetches them; extraction, versioning and storage are the
pipelines' job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from archive.store import host_of, utc_now
from archive.urls import is_http_url, normalize_url
from scraper.discovery import (
    DENY_LINKS,
    USUAL_FEED_PATHS,
    classify_page,
    entries_in_feed,
    feed_links_in_html,
    is_feed_body,
)
from scraper.items import PageItem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

# Article requests see 4xx/5xx answers (after retries) so that the failure is archived as a capture.
ERROR_STATUSES = list(range(400, 600))


class BlogSpider(scrapy.Spider):
    """Crawl one or more sites given as ``-a url=URL[,URL…]``; archive every article found."""

    name = "blog"

    def __init__(self, url: str = "", max_pages: str | int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [u.strip() for u in url.split(",") if u.strip()]
        bad = [u for u in self.start_urls if not is_http_url(u)]
        if not self.start_urls or bad:
            raise ValueError(f"blog spider needs -a url=http(s)://… (got {url!r})")
        self.sites = {host_of(u): u for u in self.start_urls}
        self.max_pages = int(max_pages or 0)
        self.articles_seen: set[str] = set()
        # Scope is checked per URL in _follow (host and port); LinkExtractor's allow_domains
        # ignores ports and so cannot tell two local sites apart.
        self.link_extractor = LinkExtractor(deny=DENY_LINKS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BlogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_pages = spider.max_pages or crawler.settings.getint("BLOG_MAX_PAGES")
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if settings.getpriority("USER_AGENT") <= settings.getpriority("BOT_NAME"):
            # Only when nobody set USER_AGENT: name the project and where to reach its operator.
            agent = "Palimpsest/{} (+{})".format(
                settings.get("PALIMPSEST_VERSION"), settings.get("PALIMPSEST_CONTACT_URL")
            )
            settings.set("USER_AGENT", agent, priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            meta = {"site_url": url, "via": "start"}
            yield scrapy.Request(url, self.parse_page, meta=meta, priority=20)
            robots = urljoin(url, "/robots.txt")
            yield scrapy.Request(
                robots,
                self.parse_robots,
                meta={
                    **meta,
                    "dont_obey_robotstxt": True,
                    "handle_httpstatus_list": ERROR_STATUSES,
                },
                priority=30,
            )

    # -- discovery ---------------------------------------------------------------------------

    def parse_robots(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        """Follow the ``Sitemap:`` lines of robots.txt, or try ``/sitemap.xml``."""
        sitemaps = []
        if response.status == 200 and isinstance(response, TextResponse):
            sitemaps = [
                u for u in sitemap_urls_from_robots(response.body, response.url) if is_http_url(u)
            ]
        if not sitemaps:
            sitemaps = [urljoin(response.url, "/sitemap.xml")]
        for url in sitemaps:
            yield from self._follow(url, self.parse_sitemap, response, via="sitemap", priority=25)

    def parse_sitemap(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        """Queue the pages of a sitemap, or the sitemaps of a sitemap index (gzip or not)."""
        body = response.body
        if gzip_magic_number(response):
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except (StopIteration, ValueError) as exc:  # empty or not XML at all
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            logger.warning("Not a sitemap: %s (%s)", response.url, exc)
            return
        self.crawler.stats.inc_value("discovery/sitemaps")
        for entry in sitemap:
            loc = urljoin(response.url, entry.get("loc", ""))
            if sitemap.type == "sitemapindex":
                yield from self._follow(
                    loc, self.parse_sitemap, response, via="sitemap", priority=25
                )
            else:
                yield from self._follow(loc, self.parse_page, response, via="sitemap", priority=10)

    def parse_feed(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        """Queue the entries of an RSS, Atom or JSON feed."""
        if response.status != 200 or not is_feed_body(response.body):
            return
        self.crawler.stats.inc_value("discovery/feeds")
        for url in entries_in_feed(response.body, response.url):
            yield from self._follow(url, self.parse_page, response, via="feed", priority=15)

    # -- pages -------------------------------------------------------------------------------

    def parse_page(self, response: scrapy.http.Response) -> Iterator[Any]:
        """Archive the page if it is an article; if it is a listing page, follow its in-site links."""
        via = response.meta.get("via", "link")
        if response.status >= 400:
            if via in ("feed", "sitemap"):
                yield self._page_item(response, error=f"HTTP {response.status}")
            return
        if not isinstance(response, TextResponse) or "html" not in _content_type(response):
            self.crawler.stats.inc_value("discovery/skipped_not_html")
            return
        tree = response.selector.root
        is_article, reason = classify_page(tree, response.url, via)
        self.crawler.stats.inc_value(f"discovery/{'article' if is_article else 'listing'}/{reason}")
        if is_article:
            item = self._page_item(response, tree=tree)
            if item is not None:
                yield item
        if via == "start":
            yield from self._feeds(response, tree)
        # Listing pages (home, pagination, archives, categories) lead to articles; an article's
        # own links (related posts, tags) lead to pages the listings and sitemaps already reach.
        if not is_article and not self._budget_spent():
            for link in self.link_extractor.extract_links(response):
                yield from self._follow(link.url, self.parse_page, response, via="link")

    def page_failed(self, failure: Failure) -> Iterator[PageItem]:
        """A feed or sitemap entry that could not be fetched at all is still a capture."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest):  # robots.txt said no, or a middleware chose to skip it
            self.crawler.stats.inc_value("discovery/ignored")
            logger.debug("Not fetched: %s (%s)", request.url, failure.getErrorMessage())
            return
        logger.warning("Fetch failed: %s (%s)", request.url, failure.getErrorMessage())
        self.crawler.stats.inc_value("discovery/fetch_failed")
        if request.meta.get("via") in ("feed", "sitemap") and request.callback == self.parse_page:
            yield PageItem(
                url=request.url,
                page_url=normalize_url(request.url),
                site_url=request.meta.get("site_url", ""),
                fetched_at=utc_now(),
                status=0,
                error=f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500],
                discovered_via=request.meta.get("via", ""),
            )

    # -- helpers -----------------------------------------------------------------------------

    def _feeds(self, response: TextResponse, tree: Any) -> Iterator[scrapy.Request]:
        feeds = feed_links_in_html(tree, response.url)
        if not feeds:
            feeds = [urljoin(response.url, path) for path in USUAL_FEED_PATHS]
        for url in feeds:
            yield from self._follow(
                url, self.parse_feed, response, via="feed", priority=25, errors=True
            )

    def _follow(
        self,
        url: str,
        callback: Any,
        response: scrapy.http.Response,
        *,
        via: str,
        priority: int = 0,
        errors: bool = False,
    ) -> Iterator[scrapy.Request]:
        """A request for ``url`` if it is in scope (an http(s) URL on one of the crawled sites)."""
        if not is_http_url(url) or host_of(url) not in self.sites:
            self.crawler.stats.inc_value("discovery/offsite")
            return
        meta = {"site_url": response.meta.get("site_url", ""), "via": via}
        if callback == self.parse_page or errors:
            meta["handle_httpstatus_list"] = ERROR_STATUSES
        yield scrapy.Request(url, callback, meta=meta, priority=priority, errback=self.page_failed)

    def _page_item(
        self, response: scrapy.http.Response, *, tree: Any = None, error: str | None = None
    ) -> PageItem | None:
        page_url = normalize_url(
            _canonical(tree, response.url) if tree is not None else response.url
        )
        if page_url in self.articles_seen:
            self.crawler.stats.inc_value("discovery/duplicate_article")
            return None  # the same article under another URL, already archived in this crawl
        if self._budget_spent():
            self.crawler.stats.inc_value("discovery/over_budget")
            return None
        self.articles_seen.add(page_url)
        headers = response.headers
        text_response = isinstance(response, TextResponse)
        return PageItem(
            url=response.request.url if response.request else response.url,
            page_url=page_url,
            site_url=response.meta.get("site_url", ""),
            fetched_at=utc_now(),
            status=response.status,
            final_url=response.url,
            body=response.body,
            html=response.text if text_response and error is None else "",
            encoding=response.encoding if text_response else None,
            content_type=_content_type(response) or None,
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            discovered_via=response.meta.get("via", "link"),
            error=error,
        )

    def _budget_spent(self) -> bool:
        return bool(self.max_pages) and len(self.articles_seen) >= self.max_pages


def _canonical(tree: Any, url: str) -> str:
    """The page's ``rel=canonical`` when it points into the same site, else its own URL."""
    hrefs = tree.xpath('//head/link[@rel="canonical"]/@href')
    if hrefs:
        canonical = urljoin(url, str(hrefs[0]).strip())
        if is_http_url(canonical) and host_of(canonical) == host_of(url):
            return canonical
    return url


def _content_type(response: scrapy.http.Response) -> str:
    return _header(response.headers, b"Content-Type") or ""


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None
