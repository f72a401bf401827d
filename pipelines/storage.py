"""StoragePipeline: the one writer to the archive."""

from __future__ import annotations

import logging
import math
from time import monotonic
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.asyncio import create_looping_call

from archive.capture import record_capture
from archive.db import ArchiveError, open_db
from archive.models import Capture, CaptureResult
from archive.store import commit_batch, finish_crawl, start_crawl

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from sqlite_utils import Database

    from scraper.items import PageItem

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Record every capture and every new version in the SQLite archive (``ARCHIVE_DB_PATH``).

    Captures are committed in batches, at most once per ``ARCHIVE_COMMIT_SECONDS`` and at least
    every ``ARCHIVE_COMMIT_EVERY`` captures: a capture is committed at once when the last commit
    is that old (the first of a crawl, one after a quiet spell), otherwise it waits in the open
    batch for the next commit, which also happens when a capture fails, when the spider closes,
    and from a timer when no capture came to close the batch (a quiet spell must not hold the
    archive's write lock, or the last captures, for long). Each capture is a savepoint of its
    batch, so a failing one is rolled back alone; a crash loses at most the open batch, whose
    pages the next crawl fetches again, and never leaves half a capture.
    """

    def __init__(
        self,
        crawler: Crawler,
        db_path: str,
        *,
        commit_every: int = 200,
        commit_seconds: float = 1.0,
    ) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.db: Database | None = None
        self.crawl_id: int | None = None
        self.batch_size = 0  # captures written since the last commit
        self.committed_at = -math.inf  # when captures were last committed (monotonic clock)
        self.timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        path = settings.get("ARCHIVE_DB_PATH")
        if not path:
            raise NotConfigured("ARCHIVE_DB_PATH is not set")
        every = settings.getint("ARCHIVE_COMMIT_EVERY", 200)
        seconds = settings.getfloat("ARCHIVE_COMMIT_SECONDS", 1.0)
        if every < 1 or seconds < 0:
            raise ValueError(
                "ARCHIVE_COMMIT_EVERY must be at least 1 and ARCHIVE_COMMIT_SECONDS at least 0"
            )
        pipeline = cls(crawler, path, commit_every=every, commit_seconds=seconds)
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
        if self.commit_seconds > 0:
            try:
                self.timer = create_looping_call(self._commit_if_due)
            except RuntimeError:  # no reactor or event loop: not in a crawl (a test, a script)
                return
            self.timer.start(self.commit_seconds, now=False)

    def _commit_if_due(self) -> None:
        if self.batch_size and monotonic() - self.committed_at >= self.commit_seconds:
            self.commit()

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
            body_sha256=item.body_sha256,
        )
        result = self._record(capture)
        stats = self.crawler.stats
        stats.inc_value("archive/fetches")
        stats.inc_value(f"archive/{result.outcome}")
        if result.outcome in ("new", "changed"):
            logger.info(
                "%s: %s (version %s)", result.outcome.capitalize(), item.page_url, result.version
            )
        return item

    def _record(self, capture: Capture) -> CaptureResult:
        """``record_capture`` in the open batch; commit it when full or the last commit is old."""
        assert self.db is not None
        if not self.db.conn.in_transaction:
            self.db.begin()
        try:
            result = record_capture(self.db, capture)
        except BaseException:
            self.commit()  # the failed capture rolled back to its savepoint; keep the others
            raise
        self.batch_size += 1
        if (
            self.batch_size >= self.commit_every
            or monotonic() - self.committed_at >= self.commit_seconds
        ):
            self.commit()
        return result

    def commit(self) -> None:
        """Commit the open batch of captures, if any."""
        self.batch_size = 0
        self.committed_at = monotonic()
        if self.db is not None:
            commit_batch(self.db)

    def close_spider(self) -> None:
        # The crawl row is finished in spider_closed, when the finish reason is known.
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.commit()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.db is None or self.crawl_id is None:
            return
        self.commit()
        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        finish_crawl(self.db, self.crawl_id, reason, stats)
        self.db.close()
        self.db = None
