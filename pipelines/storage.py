"""StoragePipeline: the one writer to the archive."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured

from archive.db import ArchiveError, open_db
from archive.models import Capture
from archive.store import finish_crawl, record_capture, start_crawl

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from sqlite_utils import Database

    from scraper.items import PageItem

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Record every capture and every new version in the SQLite archive (``ARCHIVE_DB_PATH``)."""

    def __init__(self, crawler: Crawler, db_path: str) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.db: Database | None = None
        self.crawl_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        path = settings.get("ARCHIVE_DB_PATH")
        if not path:
            raise NotConfigured("ARCHIVE_DB_PATH is not set")
        pipeline = cls(crawler, path)
        # spider_closed fires after close_spider, once the final stats are known.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        try:
            self.db = open_db(self.db_path)
        except ArchiveError as exc:
            self.crawler.stats.set_value("archive/unusable", str(exc))
            raise CloseSpider(f"archive unusable: {exc}") from exc
        spider = self.crawler.spider
        start_urls = list(getattr(spider, "start_urls", []))
        self.crawl_id = start_crawl(self.db, start_urls)
        self.crawler.stats.set_value("archive/crawl_id", self.crawl_id)

    def process_item(self, item: PageItem) -> PageItem:
        assert self.db is not None, "open_spider was not called"
        capture = Capture(
            url=item.url,
            page_url=item.page_url,
            fetched_at=item.fetched_at,
            final_url=item.final_url or None,
            site_url=item.site_url or None,
            http_status=item.status or None,
            etag=item.etag,
            last_modified=item.last_modified,
            body=item.body or None,
            content_type=item.content_type,
            encoding=item.encoding,
            article=item.article,
            content_hash=item.content_hash,
            error=item.error,
            crawl_id=self.crawl_id,
            redirect_statuses=item.redirect_statuses,
            redirected_home=item.redirected_home,
            body_unchanged=item.body_unchanged,
        )
        result = record_capture(self.db, capture)
        stats = self.crawler.stats
        stats.inc_value("archive/fetches")
        stats.inc_value(f"archive/{result.outcome}")
        if result.outcome in ("new", "changed"):
            logger.info(
                "%s: %s (version %s)", result.outcome.capitalize(), item.page_url, result.version
            )
        return item

    def close_spider(self) -> None:
        pass  # the crawl row is finished in spider_closed, when the finish reason is known

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.db is None or self.crawl_id is None:
            return
        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        finish_crawl(self.db, self.crawl_id, reason, stats)
        self.db.close()
        self.db = None
