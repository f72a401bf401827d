"""The extraction workers (one parse per page: classify + extract) and the sitemap frontier."""

from __future__ import annotations

import pytest
import scrapy
import sqlite_utils
from scrapy.exceptions import DontCloseSpider, NotConfigured

from archive.demo import load_posts, render_site, serve_blog
from scraper.pagework import PageTask
from scraper.workers import AnalysisFailed, ExtractConfig, WorkerPool
from tests.conftest import project_crawler
from tests.test_e2e_revisits import many_posts

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def post_html():
    post = load_posts()[0]
    pages = render_site(load_posts(), site_name="Lanternfield Review", base_url=BASE)
    return post, pages[f"/posts/{post.slug}/"][1].decode(), pages["/"][1].decode()


def pool(settings=None) -> WorkerPool:
    return WorkerPool.from_crawler(project_crawler({"EXTRACT_WORKERS": 1, **(settings or {})}))


@pytest.mark.asyncio
async def test_one_parse_classifies_and_extracts_in_a_worker(post_html):
    post, html, home = post_html
    workers = pool()
    try:
        found = await workers.analyze(PageTask(html, f"{BASE}/posts/{post.slug}/", via="link"))
        listing = await workers.analyze(PageTask(home, f"{BASE}/", via="start", want_feeds=True))
        empty = await workers.analyze(
            PageTask("<html><body> </body></html>", f"{BASE}/posts/x/", via="feed")
        )
        known = await workers.analyze(PageTask(html, f"{BASE}/old/", via=None, extract=False))
    finally:
        workers.close()
    assert found.is_article
    assert found.reason == "json-ld"
    assert found.article is not None
    assert found.article.title == post.title
    assert found.page_url == f"{BASE}/posts/{post.slug}/"  # its rel=canonical
    assert not listing.is_article
    assert listing.article is None
    assert listing.feeds == [f"{BASE}/feed.xml", f"{BASE}/atom.xml", f"{BASE}/feed.json"]
    assert empty.is_article
    assert empty.article is None
    assert known.reason == "archived"
    assert known.article is None
    stats = workers.crawler.stats
    assert stats.get_value("extract/ok") == 1
    assert stats.get_value("extract/failed") == 1


@pytest.mark.asyncio
async def test_workers_start_on_first_use_and_do_not_import_scrapy(post_html):
    workers = pool()
    assert workers._executor is None  # a recrawl answered by 304s never starts a worker
    try:
        await workers.analyze(PageTask(post_html[1], f"{BASE}/posts/a/", via="link"))
        assert workers._executor is not None
        loaded = workers._executor.submit(eval, "sorted(__import__('sys').modules)").result()
    finally:
        workers.close()
    assert "trafilatura" in loaded
    assert "scrapy" not in loaded
    assert "twisted" not in loaded


@pytest.mark.asyncio
async def test_a_page_past_the_deadline_is_abandoned(post_html):
    workers = pool({"EXTRACT_TIMEOUT": 0.0001})
    try:
        with pytest.raises(AnalysisFailed, match=r"extraction exceeded 0.0001s"):
            await workers.analyze(PageTask(post_html[1], f"{BASE}/posts/a/", via="link"))
    finally:
        workers.close()
    assert workers.crawler.stats.get_value("extract/timeout") == 1


def test_extract_settings_are_checked():
    def config(**settings):
        return ExtractConfig.from_settings(project_crawler(settings).settings)

    with pytest.raises(NotConfigured, match="exclude each other"):
        config(EXTRACT_FAVOR_PRECISION=True, EXTRACT_FAVOR_RECALL=True)
    with pytest.raises(NotConfigured, match="EXTRACT_WORKERS"):
        config(EXTRACT_WORKERS=-1)
    assert config(EXTRACT_WORKERS=3, EXTRACT_FAST=True).workers == 3


class FakeEngine:
    """Scrapy's engine as the frontier sees it: ``crawl`` puts a request in the scheduler at once."""

    def __init__(self, waiting: int = 0) -> None:
        self.scheduler: list[scrapy.Request | None] = [None] * waiting

    def crawl(self, request: scrapy.Request) -> None:
        self.scheduler.append(request)


def frontier_spider(queue_size: int, urls: int):
    from scraper.spiders.blog import BlogSpider

    crawler = project_crawler({"DISCOVERY_QUEUE_SIZE": queue_size, "ARCHIVE_ENABLED": False})
    spider = BlogSpider.from_crawler(crawler, url=BASE + "/")
    spider.frontier.extend((f"{BASE}/posts/p{i}/", BASE + "/", 2) for i in range(urls))
    return crawler, spider


def test_sitemap_urls_enter_the_scheduler_in_bounded_batches():
    crawler, spider = frontier_spider(queue_size=10, urls=25)
    crawler.engine = FakeEngine(waiting=6)  # more than half full: no batch yet
    assert spider._release_frontier() == 0
    crawler.engine = FakeEngine(waiting=3)
    assert spider._release_frontier() == 7  # up to the size
    released = crawler.engine.scheduler[3:]
    assert [r.url for r in released] == [f"{BASE}/posts/p{i}/" for i in range(7)]
    # The depth is the sitemap's + 1, whichever page's callback released them.
    assert {r.meta["depth"] for r in released} == {2}
    assert {r.meta["via"] for r in released} == {"sitemap"}
    # Another callback right after: the scheduler already holds them, no second batch.
    assert spider._release_frontier() == 0
    crawler.engine.scheduler.clear()
    assert spider._release_frontier() == 10
    assert len(spider.frontier) == 8
    # A listing page linking to a released post again makes no second request for it.
    assert (
        list(spider._follow(f"{BASE}/posts/p3/", spider.parse_page, BASE + "/", via="link")) == []
    )
    assert (
        len(list(spider._follow(f"{BASE}/posts/p24/", spider.parse_page, BASE + "/", via="link")))
        == 1
    )


def test_a_spider_idle_with_urls_waiting_releases_them_and_stays_open():
    crawler, spider = frontier_spider(queue_size=10, urls=12)
    crawler.engine = FakeEngine()
    with pytest.raises(DontCloseSpider):
        spider.spider_idle()
    crawler.engine.scheduler.clear()
    with pytest.raises(DontCloseSpider):
        spider.spider_idle()
    assert len(crawler.engine.scheduler) == 2
    crawler.engine.scheduler.clear()
    spider.spider_idle()  # nothing waits: the spider may close


def test_a_sitemaps_pages_are_one_level_below_it_and_within_the_depth_limit():
    from scrapy.http import XmlResponse

    crawler, spider = frontier_spider(queue_size=10, urls=0)
    crawler.engine = FakeEngine()
    locs = "".join(f"<url><loc>{BASE}/posts/s{i}/</loc></url>" for i in range(3))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'

    def sitemap_at(depth):
        request = scrapy.Request(f"{BASE}/sitemap.xml", meta={"depth": depth, "site_url": BASE})
        return XmlResponse(request.url, body=body.encode(), request=request)

    limit = crawler.settings.getint("DEPTH_LIMIT")
    assert list(spider.parse_sitemap(sitemap_at(limit - 1))) == []
    assert [r.meta["depth"] for r in crawler.engine.scheduler] == [limit] * 3
    assert list(spider.parse_sitemap(sitemap_at(limit))) == []  # its pages would be too deep
    assert len(crawler.engine.scheduler) == 3
    assert crawler.stats.get_value("depth/request_ignored_count") == 3


@pytest.mark.e2e
def test_a_sitemap_bigger_than_the_queue_is_crawled_whole(crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    with serve_blog(many_posts(120), per_page=20) as site:
        # Only the posts' sitemap leads to posts: no home page (so no feed), no listing pages.
        site.overrides.update({"/": (404, None), "/sitemap-pages.xml": (404, None)})
        # A sitemap's URLs are one level below it, whichever page's callback let them in: with
        # depth counted through the releasing page, DEPTH_LIMIT cut this crawl short.
        settings = {"DISCOVERY_QUEUE_SIZE": "10", "DEPTH_LIMIT": "3"}
        result = crawl(site.base_url + "/", db_path, settings=settings)
    assert result.exit_code == 0, result.log[-2000:]
    assert result.stats["archive/new"] == 120
    assert "depth/request_ignored_count" not in result.stats
    assert "discovery/feeds" not in result.stats
    pages = sqlite_utils.Database(db_path).execute("select count(*) from pages").fetchone()[0]
    assert pages == 120
