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


def storage_pipeline(db_path, **settings):
    crawler = project_crawler({"ARCHIVE_DB_PATH": str(db_path), **settings})
    pipeline = StoragePipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline


def article_item(slug: str) -> PageItem:
    from archive.models import Article

    page = item(f"<html>{slug}</html>", slug)
    page.article = Article(title=slug, author="A", text=f"Text of {slug}.", extractor="t 1")
    return page


def visible(db_path) -> list[str]:
    """The captured URLs another connection (Datasette, the spider) sees."""
    db = sqlite_utils.Database(db_path)
    try:
        return [row[0] for row in db.execute("select url from captures order by id")]
    finally:
        db.close()


def test_storage_pipeline_commits_in_batches(tmp_path):
    db_path = tmp_path / "archive.db"
    pipeline = storage_pipeline(db_path, ARCHIVE_COMMIT_EVERY=3, ARCHIVE_COMMIT_SECONDS=3600)
    pipeline.process_item(article_item("one"))
    assert len(visible(db_path)) == 1  # the first capture of a crawl is committed at once
    pipeline.process_item(article_item("two"))
    pipeline.process_item(article_item("three"))
    assert len(visible(db_path)) == 1
    pipeline.process_item(article_item("four"))  # a batch of three
    assert len(visible(db_path)) == 4
    pipeline.process_item(article_item("five"))
    assert len(visible(db_path)) == 4
    pipeline.close_spider()  # commits the open batch, before spider_closed
    assert len(visible(db_path)) == 5
    pipeline.spider_closed(None, "finished")
    row = sqlite_utils.Database(db_path).execute("select finish_reason from crawls").fetchone()
    assert row == ("finished",)


def test_storage_pipeline_commits_at_most_once_a_period(tmp_path, monkeypatch):
    now = [100.0]
    monkeypatch.setattr("pipelines.storage.monotonic", lambda: now[0])
    db_path = tmp_path / "archive.db"
    pipeline = storage_pipeline(db_path, ARCHIVE_COMMIT_SECONDS=2.5)
    assert pipeline.commit_every == 200
    pipeline.process_item(article_item("one"))
    assert len(visible(db_path)) == 1
    now[0] += 2
    pipeline.process_item(article_item("two"))
    now[0] += 0.4
    pipeline.process_item(article_item("three"))
    assert len(visible(db_path)) == 1
    now[0] += 0.1  # 2.5 s since the last commit
    pipeline.process_item(article_item("four"))
    assert len(visible(db_path)) == 4
    now[0] += 60  # after a quiet spell, a capture is committed at once
    pipeline.process_item(article_item("five"))
    assert len(visible(db_path)) == 5
    now[0] += 1
    pipeline.process_item(article_item("six"))
    assert len(visible(db_path)) == 5
    pipeline.spider_closed(None, "finished")
    assert len(visible(db_path)) == 6


@pytest.mark.asyncio
async def test_a_timer_commits_a_batch_no_capture_came_to_close(tmp_path):
    import asyncio

    db_path = tmp_path / "archive.db"
    pipeline = storage_pipeline(db_path, ARCHIVE_COMMIT_SECONDS=0.2)
    assert pipeline.timer is not None  # a running event loop: the timer is on
    pipeline.process_item(article_item("one"))
    pipeline.process_item(article_item("two"))
    assert len(visible(db_path)) == 1  # "two" waits in the open batch…
    await asyncio.sleep(0.6)
    assert len(visible(db_path)) == 2  # …until the timer commits it, with no item arriving
    assert not pipeline.db.conn.in_transaction  # nor is the write lock held meanwhile
    pipeline.close_spider()
    assert not pipeline.timer.running
    pipeline.spider_closed(None, "finished")


def test_a_failing_capture_leaves_the_rest_of_its_batch_intact(tmp_path, monkeypatch):
    from archive import capture as capture_module

    real = capture_module._insert_capture

    def insert_capture(db, capture, *args):
        if capture.page_url.endswith("/two/"):
            raise RuntimeError("disk on fire")
        return real(db, capture, *args)

    monkeypatch.setattr(capture_module, "_insert_capture", insert_capture)
    db_path = tmp_path / "archive.db"
    pipeline = storage_pipeline(db_path, ARCHIVE_COMMIT_EVERY=5, ARCHIVE_COMMIT_SECONDS=3600)
    for slug in ("zero", "one"):  # zero is committed at once: one is in the open batch
        pipeline.process_item(article_item(slug))
    with pytest.raises(RuntimeError):
        pipeline.process_item(article_item("two"))
    committed = [f"{BASE}/posts/{slug}/" for slug in ("zero", "one")]
    assert visible(db_path) == committed  # the batch is committed with the failure
    pipeline.process_item(article_item("three"))
    pipeline.spider_closed(None, "finished")
    db = sqlite_utils.Database(db_path)
    assert visible(db_path) == [*committed, f"{BASE}/posts/three/"]
    assert [row["url"] for row in db["pages"].rows] == visible(db_path)
    assert db["versions"].count == db["bodies"].count == 3
    assert pipeline.crawler.stats.get_value("archive/new") == 3


def test_storage_pipeline_rejects_bad_batch_settings(tmp_path):
    crawler = project_crawler(
        {"ARCHIVE_DB_PATH": str(tmp_path / "a.db"), "ARCHIVE_COMMIT_EVERY": 0}
    )
    with pytest.raises(ValueError, match="ARCHIVE_COMMIT_EVERY"):
        StoragePipeline.from_crawler(crawler)


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
