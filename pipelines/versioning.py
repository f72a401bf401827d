"""VersioningPipeline: fingerprint each extracted article so the archive can tell an edit from a refetch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archive.normalize import content_fingerprint

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from scraper.items import PageItem


class VersioningPipeline:
    """Set ``item.content_hash``: the fingerprint of what the publisher wrote (``archive.normalize``).

    The comparison with the page's last version happens in ``archive.capture.record_capture``, inside
    the transaction that writes the capture, by an indexed lookup of that one page: the answer is
    then always consistent with what is stored, and nothing is ever loaded in bulk.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> VersioningPipeline:
        return cls(crawler)

    def process_item(self, item: PageItem) -> PageItem:
        if item.article is not None:
            item.content_hash = content_fingerprint(item.article)
        return item
