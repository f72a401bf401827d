"""The extraction workers: page analysis (``scraper.pagework``) in processes on all cores.

Extraction is CPU-bound (tens of ms a page); done in the reactor it would stall every download.
The spider awaits each page's analysis in its callback, so Scrapy's scraper slot fills up and
fetching slows down when the workers fall behind: in-flight work is bounded by the pages being
processed, never an unbounded queue.

Workers are forked from a *forkserver* that has imported only ``scraper.pagework`` and
``archive.extract`` (trafilatura, lxml; no Scrapy, no reactor), and are started on the first page
that needs them: a recrawl answered by 304s never starts one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from archive.models import ExtractOptions
from scraper.pagework import ExtractionTimeout, PageAnalysis, PageTask, analyze_page

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractConfig:
    """``EXTRACT_*`` settings, read once."""

    workers: int
    timeout: float
    options: ExtractOptions

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ExtractConfig:
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


class AnalysisFailed(Exception):
    """A page's analysis was abandoned: it passed EXTRACT_TIMEOUT, or its worker died."""


class WorkerPool:
    """Analyse pages in worker processes; counts ``extract/*`` stats."""

    def __init__(self, crawler: Crawler, config: ExtractConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._executor: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerPool:
        return cls(crawler, ExtractConfig.from_settings(crawler.settings))

    def _start(self) -> ProcessPoolExecutor:
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["scraper.pagework", "archive.extract"])
        else:  # Windows: no fork at all
            context = multiprocessing.get_context("spawn")
        # A forked child of the crawler itself would inherit the reactor's threads and sockets.
        self._executor = ProcessPoolExecutor(self.config.workers, mp_context=context)
        self.crawler.stats.inc_value("extract/pool_started")
        return self._executor

    async def analyze(self, task: PageTask) -> PageAnalysis:
        """The page's analysis; raises AnalysisFailed when it passed EXTRACT_TIMEOUT or its worker
        died (the pool is restarted for the next page)."""
        executor = self._executor or self._start()
        timeout = self.config.timeout
        try:
            future = executor.submit(analyze_page, task, self.config.options, timeout)
        except BrokenProcessPool:  # a worker was killed (OOM killer, …): start afresh
            self._restart()
            future = self._start().submit(analyze_page, task, self.config.options, timeout)
        try:
            # The outer deadline only matters if a worker is wedged in C code beyond SIGALRM's reach.
            analysis = await asyncio.wait_for(asyncio.wrap_future(future), timeout + 10)
        except (ExtractionTimeout, asyncio.TimeoutError):
            self.crawler.stats.inc_value("extract/timeout")
            logger.warning("Extraction took over %ss, given up: %s", timeout, task.url)
            raise AnalysisFailed(f"extraction exceeded {timeout:g}s") from None
        except BrokenProcessPool:
            self.crawler.stats.inc_value("extract/worker_died")
            logger.error("An extraction worker died on %s", task.url)
            self._restart()
            raise AnalysisFailed("extraction worker died") from None
        if task.extract and analysis.is_article:
            self.crawler.stats.inc_value(
                "extract/ok" if analysis.article is not None else "extract/failed"
            )
            if analysis.article is None:
                logger.info("No article text extracted: %s", task.url)
        return analysis

    def _restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
