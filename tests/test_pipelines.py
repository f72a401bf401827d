"""The three pipelines, driven directly as Scrapy would (real crawler stats, no reactor)."""

from __future__ import annotations

import pytest
import sqlite_utils
from scrapy.exceptions import CloseSpider, NotConfigured

from archive.normalize import fingerprint
from pipelines.storage import StoragePipeline
from pipelines.versioning import VersioningPipeline
from scraper.items import PageItem
from scraper.spiders.blog import BlogSpider
from tests.conftest import project_crawler

BASE = "http://127.0.0.1:8000"


def item(html: str, slug: str = "a-post") -> PageItem:
    url = f"{BASE}/posts/{slug}/"
    return PageItem(
        url=url,
        page_url=url,
        site_url=BASE + "/",
        fetched_at="2026-11-29T10:00:00Z",
        status=200,
        final_url=url,
        body=html.encode(),
        encoding="utf-8",
        content_type="text/html; charset=utf-8",
        etag='"abc"',
    )


def test_versioning_pipeline_fingerprints_articles():
    from archive.models import Article

    pipeline = VersioningPipeline.from_crawler(project_crawler())
    page = item("<html></html>")
    page.article = Article(title="T", author="A", text="Body")
    assert pipeline.process_item(page).content_hash == fingerprint("T", "A", "Body")
    failed = item("<html></html>")
    assert pipeline.process_item(failed).content_hash is None


def test_storage_pipeline_writes_captures_and_the_crawl_row(tmp_path):
    from archive.models import Article

    db_path = tmp_path / "archive.db"
    crawler = project_crawler({"ARCHIVE_DB_PATH": str(db_path)})
    pipeline = StoragePipeline.from_crawler(crawler)
    pipeline.open_spider()
    page = item("<html>x</html>")
    page.article = Article(title="T", author="A", text="Body text")
    pipeline.process_item(page)
    page2 = item("<html>y</html>")
    page2.article = Article(title="T", author="A", text="Body text")
    pipeline.process_item(page2)
    pipeline.spider_closed(None, "finished")
    assert crawler.stats.get_value("archive/new") == 1
    assert crawler.stats.get_value("archive/unchanged") == 1
    db = sqlite_utils.Database(db_path)
    assert db["captures"].count == 2
    assert next(db["crawls"].rows)["finish_reason"] == "finished"
    capture = next(db["captures"].rows)
    assert capture["etag"] == '"abc"'
    assert capture["http_status"] == 200


def test_storage_pipeline_switches_off_and_refuses_a_bad_archive(tmp_path):
    with pytest.raises(NotConfigured):
        StoragePipeline.from_crawler(project_crawler({"ARCHIVE_ENABLED": False}))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"garbage" * 200)
    pipeline = StoragePipeline.from_crawler(project_crawler({"ARCHIVE_DB_PATH": str(junk)}))
    with pytest.raises(CloseSpider) as closed:
        pipeline.open_spider()
    assert closed.value.reason.startswith("archive unusable")


def test_spider_arguments_and_user_agent():
    crawler = project_crawler({"PALIMPSEST_CONTACT_URL": "https://example.org/contact"})
    spider = BlogSpider.from_crawler(
        crawler, url=f"{BASE}/, https://Other.example/blog/", max_pages=5
    )
    assert spider.start_urls == [f"{BASE}/", "https://Other.example/blog/"]
    assert spider.max_pages == 5
    assert set(spider.sites) == {"127.0.0.1:8000", "other.example"}
    agent = crawler.settings.get("USER_AGENT")
    assert agent.startswith("Palimpsest/")
    assert "https://example.org/contact" in agent
    with pytest.raises(ValueError, match="url="):
        BlogSpider(url="")
    with pytest.raises(ValueError, match="url="):
        BlogSpider(url="ftp://example.org/")
