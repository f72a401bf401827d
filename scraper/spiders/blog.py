"""The ``blog`` spider: find a site's articles through its feeds, sitemaps and listing pages.

It decides *which* URLs are articles and fetches them (conditionally, when the archive has their
validators). Each page is parsed once, in an extraction worker (``scraper.workers``), which
classifies it and extracts the article from the same tree; versioning and storage are the
pipelines' job.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from archive.db import open_db
from archive.store import utc_now
from archive.urls import host_of, is_http_url, normalize_url, url_key
from archive.watch import PageState, due_pages, due_sites, page_state
from scraper.discovery import (
    DENY_LINKS,
    USUAL_FEED_PATHS,
    entries_in_feed,
    feed_links_in_html,
    is_feed_body,
    is_listing_url,
)
from scraper.items import PageItem
from scraper.pagework import PageTask
from scraper.workers import AnalysisFailed, WorkerPool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from sqlite_utils import Database
    from twisted.python.failure import Failure

    from archive.models import Article

logger = logging.getLogger(__name__)

# Article requests see 304 and 4xx/5xx answers (after retries): a 304 is a cheap "unchanged", an
# error is archived as a capture, and a 404/410 marks a known page gone.
ARTICLE_STATUSES = [304, *range(400, 600)]
# Article fetches whose failure is recorded even when the page is not archived yet.
RECORDED_VIA = ("feed", "sitemap", "revisit")


class BlogSpider(scrapy.Spider):
    """Crawl the sites given as ``-a url=URL[,URL…]``, or with ``-a due=1`` what the archive says
    is due (sites to rediscover, pages to revisit); archive every article found."""

    name = "blog"

    def __init__(
        self, url: str = "", max_pages: str | int = 0, due: str | bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.due = str(due).lower() in ("1", "true", "yes")
        self.start_urls = [u.strip() for u in url.split(",") if u.strip()]
        bad = [u for u in self.start_urls if not is_http_url(u)]
        if bad or (not self.start_urls and not self.due):
            raise ValueError(f"blog spider needs -a url=http(s)://… or -a due=1 (got {url!r})")
        self.sites = {host_of(u): u for u in self.start_urls}
        self.revisits: list[dict[str, Any]] = []
        self.max_pages = int(max_pages or 0)
        self.articles_seen: set[str] = set()
        self.now = utc_now()
        self.archive: Database | None = None
        self.workers: WorkerPool | None = None
        # Pages listed by sitemaps wait here as plain URLs and enter Scrapy's scheduler a batch at
        # a time (DISCOVERY_QUEUE_SIZE): a sitemap of 50,000 URLs would otherwise become 50,000
        # Request objects at once, and memory would grow with the size of the site.
        # Each waits with its site and its depth (the sitemap's depth + 1).
        self.frontier: deque[tuple[str, str, int]] = deque()
        # URLs the frontier has scheduled. Listing pages link to the same posts again; skipping
        # those here spares each a database lookup and a trip through Scrapy's middlewares to
        # its duplicate filter (a third of a recrawl's requests).
        self.released_urls: set[str] = set()
        self.queue_size = 1000
        # Scope is checked per URL in _follow (host and port); LinkExtractor's allow_domains
        # ignores ports and so cannot tell two local sites apart.
        self.link_extractor = LinkExtractor(deny=DENY_LINKS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BlogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_pages = spider.max_pages or crawler.settings.getint("BLOG_MAX_PAGES")
        spider.queue_size = max(1, crawler.settings.getint("DISCOVERY_QUEUE_SIZE"))
        spider.workers = WorkerPool.from_crawler(crawler)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        if crawler.settings.getbool("ARCHIVE_ENABLED") and crawler.settings.get("ARCHIVE_DB_PATH"):
            # A reader of the archive, for what is due and for each page's validators. The
            # StoragePipeline remains the only writer.
            spider.archive = open_db(crawler.settings.get("ARCHIVE_DB_PATH"))
        if spider.due:
            spider.plan_due()
        return spider

    def plan_due(self) -> None:
        """Read from the archive which sites are due for discovery and which pages for a revisit."""
        if self.archive is None:
            raise ValueError("-a due=1 needs an archive (ARCHIVE_DB_PATH)")
        for site in due_sites(self.archive, self.now):
            self.start_urls.append(site["url"])
            self.sites[site["host"]] = site["url"]
        self.revisits = due_pages(self.archive, self.now)
        for page in self.revisits:
            self.sites.setdefault(host_of(page["url"]), page["site_url"])

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
        if self.due:
            self.crawler.stats.set_value("due/sites", len(self.start_urls))
            self.crawler.stats.set_value("due/pages", len(self.revisits))
        for url in self.start_urls:
            meta = {"site_url": url, "via": "start"}
            yield scrapy.Request(url, self.parse_page, meta=meta, priority=20, dont_filter=True)
            robots = urljoin(url, "/robots.txt")
            yield scrapy.Request(
                robots,
                self.parse_robots,
                meta={
                    **meta,
                    "dont_obey_robotstxt": True,
                    "handle_httpstatus_list": ARTICLE_STATUSES,
                },
                priority=30,
            )
        for page in self.revisits:
            # Revisits first: a moved article must be followed to its new URL before discovery
            # meets that URL in a feed and takes it for a new article.
            for request in self._follow(
                page["url"], self.parse_page, page["site_url"], via="revisit", priority=40
            ):
                yield request

    def closed(self, reason: str) -> None:
        if self.workers is not None:
            self.workers.close()
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def spider_idle(self) -> None:
        """Nothing left in flight: hand the scheduler the next sitemap URLs, if any wait."""
        if self._release_frontier():
            raise DontCloseSpider

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
        if response.status != 200:
            return
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
        site_url, depth = response.meta.get("site_url", ""), response.meta.get("depth", 0) + 1
        # Its pages skip the spider middlewares (see _release_frontier): DEPTH_LIMIT is checked
        # here, as Scrapy's DepthMiddleware would.
        max_depth = self.settings.getint("DEPTH_LIMIT")
        too_deep, listed = bool(max_depth) and depth > max_depth, False
        for entry in sitemap:
            loc = urljoin(response.url, entry.get("loc", ""))
            if sitemap.type == "sitemapindex":
                yield from self._follow(
                    loc, self.parse_sitemap, response, via="sitemap", priority=25
                )
            elif too_deep:
                self.crawler.stats.inc_value("depth/request_ignored_count")
            elif is_http_url(loc):
                self.frontier.append((loc, site_url, depth))
                listed = True
        if listed:
            self.crawler.stats.max_value("request_depth_max", depth)
        self._release_frontier()

    def parse_feed(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        """Queue the entries of an RSS, Atom or JSON feed."""
        if response.status != 200 or not is_feed_body(response.body):
            return
        self.crawler.stats.inc_value("discovery/feeds")
        for url in entries_in_feed(response.body, response.url):
            yield from self._follow(url, self.parse_page, response, via="feed", priority=15)

    # -- pages -------------------------------------------------------------------------------

    async def parse_page(self, response: scrapy.http.Response) -> AsyncIterator[Any]:
        """Archive the page if it is an article; if it is a listing page, follow its in-site links."""
        self._release_frontier()
        via = response.meta.get("via", "link")
        known: PageState | None = response.meta.get("archive_page")
        if response.status == 304:
            if known is not None:
                yield self._page_item(response, known=known)
            return
        if response.status >= 400:
            if via in RECORDED_VIA or known is not None:
                yield self._page_item(response, known=known, error=f"HTTP {response.status}")
            return
        if known is not None and _redirected_home(response):
            yield self._page_item(response, known=known, redirected_home=True)
            return
        if not isinstance(response, TextResponse) or "html" not in _content_type(response):
            self.crawler.stats.inc_value("discovery/skipped_not_html")
            return
        archived = via == "revisit" or bool(known is not None and known.version_count)
        if not archived and is_listing_url(response.url):
            # The URL says listing: no worker needed, the links are read here (one parse).
            self.crawler.stats.inc_value("discovery/listing/listing-url")
            if via == "start":
                for request in self._feeds(
                    response, feed_links_in_html(response.selector.root, response.url)
                ):
                    yield request
            for request in self._links(response):
                yield request
            return
        body_unchanged = bool(
            known is not None
            and known.body_sha256
            and known.body_sha256 == hashlib.sha256(response.body).hexdigest()
        )
        if body_unchanged:
            self.crawler.stats.inc_value("extract/skipped_same_body")
        if archived and body_unchanged:
            # The very bytes already archived: same article, same identity, nothing to parse.
            self.crawler.stats.inc_value("discovery/article/archived")
            yield self._page_item(response, known=known, body_unchanged=True)
            return
        task = PageTask(
            response.text,
            response.url,
            via=None if archived else via,
            want_feeds=via == "start",
            extract=not body_unchanged,
        )
        assert self.workers is not None, "from_crawler was not called"
        try:
            analysis = await self.workers.analyze(task)
        except AnalysisFailed as exc:
            if via in RECORDED_VIA or known is not None:
                yield self._page_item(response, known=known, error=str(exc))
            return
        if not analysis.parsed:
            self.crawler.stats.inc_value("discovery/skipped_not_html")
            return
        kind = "article" if analysis.is_article else "listing"
        self.crawler.stats.inc_value(f"discovery/{kind}/{analysis.reason}")
        if analysis.is_article:
            item = self._page_item(
                response,
                known=known,
                page_url=normalize_url(analysis.page_url),
                article=analysis.article,
                error="no article text extracted"
                if task.extract and analysis.article is None
                else None,
                body_unchanged=body_unchanged,
            )
            if item is not None:
                yield item
        if via == "start":
            for request in self._feeds(response, analysis.feeds):
                yield request
        if not analysis.is_article:
            for request in self._links(response):
                yield request

    def page_failed(self, failure: Failure) -> Iterator[PageItem]:
        """An article that could not be fetched at all (timeout, refused, …) is still a capture."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest):  # robots.txt said no, or a middleware chose to skip it
            self.crawler.stats.inc_value("discovery/ignored")
            logger.debug("Not fetched: %s (%s)", request.url, failure.getErrorMessage())
            return
        logger.warning("Fetch failed: %s (%s)", request.url, failure.getErrorMessage())
        self.crawler.stats.inc_value("discovery/fetch_failed")
        known = request.meta.get("archive_page")
        if request.callback == self.parse_page and (
            request.meta.get("via") in RECORDED_VIA or known is not None
        ):
            error_name = failure.type.__name__ if failure.type else "Error"
            yield PageItem(
                url=request.url,
                page_url=known.url if known else normalize_url(request.url),
                site_url=request.meta.get("site_url", ""),
                fetched_at=utc_now(),
                status=0,
                error=f"{error_name}: {failure.getErrorMessage()}"[:500],
                discovered_via=request.meta.get("via", ""),
            )

    # -- helpers -----------------------------------------------------------------------------

    def _feeds(self, response: TextResponse, feeds: list[str]) -> Iterator[scrapy.Request]:
        if not feeds:
            feeds = [urljoin(response.url, path) for path in USUAL_FEED_PATHS]
        for url in feeds:
            yield from self._follow(url, self.parse_feed, response, via="feed", priority=25)

    def _links(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Requests for a listing page's in-site links.

        Listing pages (home, pagination, archives, categories) lead to articles; an article's own
        links (related posts, tags) lead to pages the listings and sitemaps already reach, so they
        are not followed.
        """
        if self._budget_spent():
            return
        for link in self.link_extractor.extract_links(response):
            yield from self._follow(link.url, self.parse_page, response, via="link")

    def _release_frontier(self) -> int:
        """Schedule waiting sitemap URLs while the scheduler holds fewer than the queue size.

        They go to the engine directly, not out of the calling callback: Scrapy consumes a
        callback's output lazily and interleaved with other callbacks, so the scheduler's length
        would lag behind what was released and several callbacks would each release a batch
        (13,000 requests were once queued at N = 20,000). Passing through the spider middlewares
        would also count each released URL one level deeper than the page that happened to
        release it, and DEPTH_LIMIT dropped 538 of them. Returns how many were scheduled.
        """
        engine = self.crawler.engine
        if engine is None or not self.frontier:
            return 0
        room = self.queue_size - len(engine.scheduler)  # type: ignore[arg-type]
        if room < self.queue_size // 2:
            return 0  # top up in batches, not one request per response
        released = 0
        while self.frontier and released < room and not self._budget_spent():
            url, site_url, depth = self.frontier.popleft()
            for request in self._follow(url, self.parse_page, site_url, via="sitemap", priority=10):
                request.meta["depth"] = depth
                engine.crawl(request)
                self.released_urls.add(url)
                released += 1
        if self._budget_spent():
            self.frontier.clear()
        return released

    def _follow(
        self,
        url: str,
        callback: Any,
        source: scrapy.http.Response | str,
        *,
        via: str,
        priority: int = 0,
    ) -> Iterator[scrapy.Request]:
        """A request for ``url`` if it is in scope (an http(s) URL on one of the crawled sites).

        Pages the archive knows are fetched conditionally (``If-None-Match``/``If-Modified-Since``);
        in ``due`` mode, known pages whose next check is not due yet are not fetched at all.
        """
        if url in self.released_urls:
            return
        if not is_http_url(url) or host_of(url) not in self.sites:
            self.crawler.stats.inc_value("discovery/offsite")
            return
        site_url = source if isinstance(source, str) else source.meta.get("site_url", "")
        meta: dict[str, Any] = {
            "site_url": site_url,
            "via": via,
            "handle_httpstatus_list": ARTICLE_STATUSES,
        }
        headers: dict[str, str] = {}
        if callback == self.parse_page and self.archive is not None:
            known = page_state(self.archive, url)
            if known is not None:
                if self.due and via != "revisit" and (known.next_check_at or "") > self.now:
                    self.crawler.stats.inc_value("discovery/known_not_due")
                    return
                meta["archive_page"] = known
                headers = _validators(known)
        yield scrapy.Request(
            url, callback, meta=meta, headers=headers, priority=priority, errback=self.page_failed
        )

    def _page_item(
        self,
        response: scrapy.http.Response,
        *,
        known: PageState | None = None,
        page_url: str | None = None,
        article: Article | None = None,
        error: str | None = None,
        redirected_home: bool = False,
        body_unchanged: bool = False,
    ) -> PageItem | None:
        if page_url is None:
            page_url = known.url if known is not None else normalize_url(response.url)
        if url_key(page_url) in self.articles_seen:
            self.crawler.stats.inc_value("discovery/duplicate_article")
            return None  # the same article under another URL, already archived in this crawl
        if self._budget_spent():
            self.crawler.stats.inc_value("discovery/over_budget")
            return None
        self.articles_seen.add(url_key(page_url))
        headers = response.headers
        body = response.body if response.status != 304 else b""
        return PageItem(
            url=(response.meta.get("redirect_urls") or [response.url])[0],
            page_url=page_url,
            site_url=response.meta.get("site_url", ""),
            fetched_at=utc_now(),
            status=response.status,
            final_url=response.url,
            body=body,
            article=article,
            encoding=response.encoding if isinstance(response, TextResponse) else None,
            content_type=_content_type(response) or None,
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            discovered_via=response.meta.get("via", "link"),
            error=error,
            redirect_statuses=list(response.meta.get("redirect_reasons", [])),
            redirected_home=redirected_home,
            body_unchanged=body_unchanged,
            # Computed above to compare with the archived body: the store need not hash it again.
            body_sha256=known.body_sha256 if body_unchanged and known is not None else None,
        )

    def _budget_spent(self) -> bool:
        return bool(self.max_pages) and len(self.articles_seen) >= self.max_pages


def _validators(known: PageState) -> dict[str, str]:
    headers = {}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    return headers


def _redirected_home(response: scrapy.http.Response) -> bool:
    """An article URL that now redirects to the site's front page: the usual way to delete a post."""
    redirects = response.meta.get("redirect_urls")
    if not redirects:
        return False
    return urlsplit(response.url).path in ("", "/") and urlsplit(redirects[0]).path not in ("", "/")


def _content_type(response: scrapy.http.Response) -> str:
    return _header(response.headers, b"Content-Type") or ""


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None
