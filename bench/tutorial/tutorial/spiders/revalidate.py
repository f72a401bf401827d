"""Scrapy's floor for a recrawl: the posts of an archive, asked again with their validators.

Sends one conditional GET (``If-None-Match``/``If-Modified-Since``, as the archive recorded them)
per archived page and does nothing with the answers. A recrawl cannot be faster than this with
Scrapy: it is what (e) costs minus discovery and archiving.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import scrapy


class RevalidateSpider(scrapy.Spider):
    name = "revalidate"

    def __init__(self, archive: str = "", stats: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.archive, self.stats_path = archive, stats

    async def start(self) -> AsyncIterator[scrapy.Request]:
        with sqlite3.connect(f"file:{self.archive}?mode=ro", uri=True) as db:
            pages = db.execute("select url, etag, last_modified from pages order by id").fetchall()
        for url, etag, last_modified in pages:
            headers = {"If-None-Match": etag} if etag else {}
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            yield scrapy.Request(url, headers=headers, meta={"handle_httpstatus_list": [304]})

    def parse(self, response: scrapy.http.Response) -> None:
        return None

    def closed(self, reason: str) -> None:
        if self.stats_path:
            stats = self.crawler.stats.get_stats()
            keep = {k: v for k, v in stats.items() if k.startswith("downloader/response_status")}
            # Scrapy's own clock, as for Palimpsest (its stat is set only after this runs).
            elapsed = datetime.now(tz=timezone.utc) - stats["start_time"]
            keep["elapsed_time_seconds"] = elapsed.total_seconds()
            Path(self.stats_path).write_text(json.dumps(keep))
