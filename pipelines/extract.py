"""ExtractPipeline: run trafilatura on each fetched article in worker processes.

Extraction is CPU-bound (about 40 ms a page); done inline it would stall the reactor and with it
every download. Worker processes use all cores, and because ``process_item`` awaits its page,
Scrapy's scraper slot fills up and fetching slows down when extraction falls behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from archive.extract import ExtractOptions, extract_article

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from archive.models import Article
    from scraper.items import PageItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractConfig:
    """``EXTRACT_*`` settings, read once."""

    workers: int
    timeout: float
    options: ExtractOptions

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractConfig:
        workers = settings.getint("EXTRACT_WORKERS")
        if workers < 0:
            raise NotConfigured("EXTRACT_WORKERS must be 0 (one per core) or more")
        options = ExtractOptions(
            include_comments=settings.getbool("EXTRACT_INCLUDE_COMMENTS"),
            favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION"),
            favor_recall=settings.getbool("EXTRACT_FAVOR_RECALL"),
            fast=settings.getbool("EXTRACT_FAST"),
        )
        if options.favor_precision and options.favor_recall:
            raise NotConfigured(
                "EXTRACT_FAVOR_PRECISION and EXTRACT_FAVOR_RECALL exclude each other"
            )
        return cls(workers or os.cpu_count() or 1, settings.getfloat("EXTRACT_TIMEOUT"), options)


class ExtractionTimeout(BaseException):
    """A page took longer than EXTRACT_TIMEOUT to extract.

    A BaseException, so that the ``except Exception`` blocks inside the extraction libraries
    cannot swallow it and carry on past the deadline.
    """


def _on_alarm(signum: int, frame: Any) -> None:
    raise ExtractionTimeout


def extract_with_deadline(
    html: str, url: str, options: ExtractOptions, timeout: float
) -> Article | None:
    """Run in a worker process: extract, interrupted by SIGALRM once ``timeout`` seconds pass."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        return extract_article(html, url, options)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ExtractPipeline:
    """Fill ``item.article`` from ``item.html``; count and log pages with nothing to extract."""

    def __init__(self, crawler: Crawler, config: ExtractConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler, ExtractConfig.from_settings(crawler.settings))

    def open_spider(self) -> None:
        import multiprocessing

        # "spawn": a forked child would inherit the reactor's threads and sockets.
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(self.config.workers, mp_context=context)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def process_item(self, item: PageItem) -> PageItem:
        if item.body_unchanged:
            self.crawler.stats.inc_value("extract/skipped_same_body")
        if item.error or not item.html:
            return item
        stats = self.crawler.stats
        assert self.pool is not None, "open_spider was not called"
        future = self.pool.submit(
            extract_with_deadline,
            item.html,
            item.final_url or item.url,
            self.config.options,
            self.config.timeout,
        )
        try:
            # The outer deadline only matters if a worker is wedged in C code beyond SIGALRM's reach.
            item.article = await asyncio.wait_for(
                asyncio.wrap_future(future), self.config.timeout + 10
            )
        except (ExtractionTimeout, asyncio.TimeoutError):
            stats.inc_value("extract/timeout")
            logger.warning("Extraction took over %ss, given up: %s", self.config.timeout, item.url)
            item.error = f"extraction exceeded {self.config.timeout:g}s"
            return item
        if item.article is None:
            stats.inc_value("extract/failed")
            logger.info("No article text extracted: %s", item.url)
            item.error = "no article text extracted"
        else:
            stats.inc_value("extract/ok")
        return item
