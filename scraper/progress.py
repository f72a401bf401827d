"""A one-line progress display for crawls run on a terminal; silent otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

COUNTERS = (
    ("fetched", ("archive/fetches",)),
    ("new", ("archive/new",)),
    ("changed", ("archive/changed",)),
    # A 304 and a byte-identical or same-text page are all "unchanged" to the reader.
    ("unchanged", ("archive/unchanged", "archive/not_modified")),
    ("gone", ("archive/gone",)),
    ("errors", ("archive/error",)),
)


def progress_line(stats: dict[str, object]) -> str:
    """One line of counters, e.g. ``fetched 12 · new 10 · changed 1 · unchanged 1 · gone 0 · errors 0``.

    >>> progress_line({"archive/fetches": 3, "archive/unchanged": 1, "archive/not_modified": 2})
    'fetched 3 · new 0 · changed 0 · unchanged 3 · gone 0 · errors 0'
    """
    return " · ".join(
        f"{label} {sum(int(stats.get(key, 0) or 0) for key in keys)}"  # type: ignore[call-overload]
        for label, keys in COUNTERS
    )


class ProgressExtension:
    """Redraw the counters on stderr once a second while the crawl runs (only on a terminal)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        if not crawler.settings.getbool("PROGRESS_ENABLED") or not sys.stderr.isatty():
            raise NotConfigured  # no message: being off a terminal is normal, not worth a warning
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.loop = task.LoopingCall(self.draw)
        self.loop.start(1.0, now=True)

    def draw(self) -> None:
        sys.stderr.write("\r\033[K" + progress_line(self.crawler.stats.get_stats()))
        sys.stderr.flush()

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.draw()
        sys.stderr.write("\n")
