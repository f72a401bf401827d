"""Extract in the pipeline, store row by row: what the tutorials show."""

from __future__ import annotations

from typing import Any

import sqlite_utils
import trafilatura


class TrafilaturaPipeline:
    """Extract the article text and metadata right here, in the reactor thread."""

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        document = trafilatura.bare_extraction(
            item.pop("html"),
            url=item["url"],
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
        )
        if document is not None:
            item.update(
                title=document.title,
                author=document.author,
                date=document.date,
                text=document.text,
            )
        return item


class SqlitePipeline:
    """One ``insert`` (and so one transaction) per article."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db: sqlite_utils.Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SqlitePipeline:
        return cls(crawler.settings.get("TUTORIAL_DB"))

    def open_spider(self) -> None:
        self.db = sqlite_utils.Database(self.path)

    def close_spider(self) -> None:
        if self.db is not None:
            self.db.close()

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        assert self.db is not None
        self.db["articles"].insert(item, pk="url", replace=True, alter=True)
        return item
