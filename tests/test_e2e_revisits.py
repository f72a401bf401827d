"""End to end, issue 3: cheap recrawls, scheduling with --due, identity, moves, deletions, errors,
re-extraction — each against a local server, each crawl in a subprocess."""

from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlite_utils

from archive.demo import SiteServer, load_posts, render_site, serve_blog
from archive.demo.posts import Post

pytestmark = pytest.mark.e2e


def many_posts(count: int) -> list[Post]:
    """``count`` distinct posts made from the sample posts (distinct slugs, titles and texts)."""
    base = load_posts()
    posts = []
    for number in range(count):
        post = base[number % len(base)]
        posts.append(
            dataclasses.replace(
                post,
                slug=f"{post.slug}-{number}",
                title=f"{post.title} (part {number})",
                date=f"2025-{1 + number % 12:02d}-{1 + number % 28:02d}",
                body_markdown=f"This is post number {number}.\n\n{post.body_markdown}",
            )
        )
    return posts


def db_of(path):
    return sqlite_utils.Database(path)


def make_due(path, *, pages=None, site=False):
    """Simulate the passing of time: make some pages (or the site) due now."""
    db = db_of(path)
    past = "2000-01-01T00:00:00Z"
    with db.conn:
        db.execute("update pages set next_check_at = '2999-01-01T00:00:00Z'")
        db.execute("update sites set next_discovery_at = '2999-01-01T00:00:00Z'")
        for url in pages or []:
            db.execute("update pages set next_check_at = ? where url = ?", [past, url])
        if site:
            db.execute("update sites set next_discovery_at = ?", [past])


def test_unchanged_200_post_blog_extracts_nothing_and_downloads_no_bodies(crawl, tmp_path):
    posts = many_posts(200)
    db_path = tmp_path / "archive.db"
    with serve_blog(posts, per_page=20) as site:
        first = crawl(site.base_url + "/", db_path)
        assert first.exit_code == 0, first.log[-2000:]
        assert first.stats["archive/new"] == 200

        with_etags = crawl(site.base_url + "/", db_path)
        assert with_etags.stats["archive/not_modified"] == 200
        assert "extract/ok" not in with_etags.stats  # nothing extracted
        assert "extract/pool_started" not in with_etags.stats  # no worker even started
        assert first.stats["extract/pool_started"] == 1
        assert with_etags.stats["downloader/response_status_count/304"] >= 200
        article_bodies = (
            db_of(db_path)
            .execute("select count(*) from captures where crawl_id = 2 and bytes is not null")
            .fetchone()[0]
        )
        assert article_bodies == 0  # no article body was downloaded

        site.validators = False  # the same server, without ETag and Last-Modified
        identical = crawl(site.base_url + "/", db_path)
        assert identical.stats["archive/unchanged"] == 200
        assert identical.stats["extract/skipped_same_body"] == 200
        assert "extract/ok" not in identical.stats
    db = db_of(db_path)
    assert db["versions"].count == 200
    assert db["bodies"].count == 200
    assert db["captures"].count == 600


def test_due_checks_exactly_what_is_due_and_never_overlaps(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    first = crawl(blog.base_url + "/", db_path)
    assert first.exit_code == 0
    pages = [row["url"] for row in db_of(db_path)["pages"].rows]
    site = db_of(db_path)["sites"].get(1)
    assert site["next_discovery_at"] > site["last_crawled_at"]  # rediscovery is scheduled

    # Nothing due: nothing fetched, exit 0.
    make_due(db_path)
    blog.hits.clear()
    idle = crawl([], db_path, "--due")
    assert idle.exit_code == 0
    assert (idle.stats["due/sites"], idle.stats["due/pages"]) == (0, 0)
    assert not any(path.startswith("/posts/") for path in blog.hits)

    # Two pages due, the site not: exactly those two are fetched, no feed or sitemap is read.
    make_due(db_path, pages=pages[:2])
    blog.hits.clear()
    two = crawl([], db_path, "--due")
    assert two.exit_code == 0
    fetched = {path for path in blog.hits if path.startswith("/posts/")}
    assert fetched == {url.split(blog.base_url)[1] for url in pages[:2]}
    assert not {"/feed.xml", "/sitemap.xml", "/atom.xml", "/feed.json"} & set(blog.hits)
    assert two.stats["archive/not_modified"] == 2

    # The site due, no page due: discovery runs, known pages that are not due are not fetched.
    make_due(db_path, site=True)
    blog.hits.clear()
    discovery = crawl([], db_path, "--due")
    assert discovery.exit_code == 0
    assert blog.hits["/feed.xml"] + blog.hits["/sitemap.xml"] >= 1
    assert not any(path.startswith("/posts/") for path in blog.hits)
    assert discovery.stats["discovery/known_not_due"] >= len(pages)


def test_lock_keeps_crawls_apart_and_survives_kill_9(blog, tmp_path):
    db_path = tmp_path / "archive.db"
    slow = [
        sys.executable, "-m", "scraper.run", blog.base_url + "/", "--db", str(db_path),
        "--log-file", str(tmp_path / "slow.log"), "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DOWNLOAD_DELAY=2", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    ]  # fmt: skip
    holder = subprocess.Popen(slow, start_new_session=True)
    try:
        lock_file = tmp_path / "archive.db.lock"
        deadline = time.monotonic() + 30
        while not (lock_file.exists() and lock_file.read_text().startswith("pid")):
            assert time.monotonic() < deadline, "the first crawl never took the lock"
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "scraper.run", "--due", "--db", str(db_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 4
        os.kill(holder.pid, signal.SIGKILL)  # a run killed while holding the lock
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert lock_file.exists()  # left behind...
    after = subprocess.run(
        [sys.executable, "-m", "scraper.run", "--due", "--db", str(db_path),
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr  # ...but never in the way
    assert db_of(db_path).execute("pragma integrity_check").fetchone()[0] == "ok"


def test_identity_tracking_parameters_slashes_amp_and_canonical(crawl, tmp_path):
    posts = load_posts()[:2]
    with SiteServer() as site:
        pages = render_site(posts, site_name="Identity", base_url=site.base_url)
        slug = posts[0].slug
        article = pages[f"/posts/{slug}/"]
        # The same article under an AMP URL whose canonical points to the real one.
        pages[f"/posts/{slug}/amp/"] = article
        # A feed that links with tracking parameters, a fragment, a default port and no slash.
        feed = (
            "<rss><channel>"
            f"<item><link>{site.base_url}/posts/{slug}/?utm_source=rss&amp;utm_medium=feed#top</link></item>"
            f"<item><link>{site.base_url}/posts/{slug}/amp/</link></item>"
            f"<item><link>{site.base_url}/posts/{posts[1].slug}?fbclid=abc</link></item>"
            "</channel></rss>"
        )
        pages["/feed.xml"] = ("application/rss+xml", feed.encode())
        site.publish(pages)
        db_path = tmp_path / "archive.db"
        result = crawl(site.base_url + "/", db_path)
        assert result.exit_code == 0
    urls = sorted(row["url"] for row in db_of(db_path)["pages"].rows)
    assert urls == sorted(f"{site.base_url}/posts/{p.slug}/" for p in posts)
    assert db_of(db_path)["versions"].count == 2


def test_moved_article_keeps_its_history(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    assert crawl(blog.base_url + "/", db_path).exit_code == 0
    posts = load_posts()
    old, new_slug = posts[0], posts[0].slug + "-renamed"
    old_url = f"{blog.base_url}/posts/{old.slug}/"
    page_id = db_of(db_path).execute("select id from pages where url = ?", [old_url]).fetchone()[0]

    blog.publish_posts([dataclasses.replace(old, slug=new_slug), *posts[1:]])
    blog.overrides[f"/posts/{old.slug}/"] = (301, f"/posts/{new_slug}/")
    make_due(db_path, pages=[old_url], site=True)
    # One request at a time: the revisit (highest priority) is answered before discovery finds
    # the new URL in the feed, as it nearly always is with more concurrency too.
    result = crawl([], db_path, "--due", settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "1"})
    assert result.exit_code == 0
    db = db_of(db_path)
    page = db["pages"].get(page_id)
    assert page["url"] == f"{blog.base_url}/posts/{new_slug}/"
    assert page["version_count"] == 1  # the slug changed, not the article
    assert db["pages"].count == len(posts)  # no second page for the new URL
    [event] = db["page_events"].rows_where("page_id = ?", [page_id])
    assert event["event"] == "moved"
    assert old_url in event["detail"]
    [former] = db["page_urls"].rows_where("page_id = ? and kind = 'former'", [page_id])
    assert former["url"] == old_url


@pytest.mark.parametrize(
    ("override", "detail"),
    [
        ((404, None), "HTTP 404"),
        ((410, None), "HTTP 410"),
        ((302, "/"), "redirects to the home page"),
    ],
)
def test_deleted_article_is_gone_then_comes_back(blog, crawl, tmp_path, override, detail):
    db_path = tmp_path / "archive.db"
    assert crawl(blog.base_url + "/", db_path).exit_code == 0
    url = next(db_of(db_path)["pages"].rows)["url"]
    path = url.split(blog.base_url)[1]

    blog.overrides[path] = override
    make_due(db_path, pages=[url])
    assert crawl([], db_path, "--due").exit_code == 0
    page = db_of(db_path)["pages"].get(1)
    assert page["status"] == "gone"
    assert page["gone_at"]
    assert page["version_count"] == 1  # history kept
    last = list(db_of(db_path).query("select * from captures where page_id = 1 order by id"))[-1]
    assert last["outcome"] == "gone"
    assert last["version_id"] is None

    del blog.overrides[path]
    make_due(db_path, pages=[url])
    assert crawl([], db_path, "--due").exit_code == 0
    page = db_of(db_path)["pages"].get(1)
    assert page["status"] == "active"
    events = [(e["event"], e["detail"]) for e in db_of(db_path)["page_events"].rows]
    assert events[0] == ("gone", detail)
    assert events[1][0] == "returned"
    assert page["version_count"] == 1


def test_server_errors_and_timeouts_are_error_captures(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    assert crawl(blog.base_url + "/", db_path).exit_code == 0
    urls = [row["url"] for row in db_of(db_path)["pages"].rows][:2]
    blog.overrides[urls[0].split(blog.base_url)[1]] = (503, None)
    make_due(db_path, pages=urls[:1])
    result = crawl([], db_path, "--due", settings={"RETRY_TIMES": "0"})
    assert result.exit_code == 1  # the only fetch failed
    db = db_of(db_path)
    last = next(iter(db.query("select * from captures order by id desc limit 1")))
    assert (last["outcome"], last["http_status"], last["version_id"]) == ("error", 503, None)
    assert db["pages"].get(last["page_id"])["status"] == "active"
    assert db["versions"].count == len(load_posts())

    # A server that does not answer in time: also an error capture, never a version.
    blog.close()
    make_due(db_path, pages=urls[1:2])
    down = crawl([], db_path, "--due", settings={"RETRY_TIMES": "0", "DOWNLOAD_TIMEOUT": "2"})
    assert down.exit_code == 1
    last = next(iter(db_of(db_path).query("select * from captures order by id desc limit 1")))
    assert last["outcome"] == "error"
    assert last["page_id"] is not None
    assert "Error" in last["error"]


def test_extractor_upgrade_is_never_an_edit(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    assert crawl(blog.base_url + "/", db_path).exit_code == 0
    db = db_of(db_path)
    # Pretend the archive was made by an older extractor that kept a footer line in the text.
    with db.conn:
        db.execute(
            "update versions set extractor = 'trafilatura 1.0.0', text = text || char(10) || 'Footer',"
            " content_hash = 'old-extractor-hash'"
        )
    # The publisher changes only boilerplate (no validators: bodies differ, so extraction runs).
    blog.validators = False
    blog.publish_posts([dataclasses.replace(p, tags=[*p.tags, "new-tag"]) for p in load_posts()])
    result = crawl(blog.base_url + "/", db_path)
    assert result.exit_code == 0
    assert "archive/changed" not in result.stats  # the old bodies were re-extracted to compare
    assert db["versions"].count == len(load_posts())

    done = subprocess.run(
        [sys.executable, "-m", "archive", "reextract", "--db", str(db_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{len(load_posts())} versions re-extracted: {len(load_posts())} changed" in done.stdout
    db = db_of(db_path)
    assert db["versions"].count == len(load_posts())  # re-extraction never makes versions
    assert all(v["extractor"].startswith("trafilatura 2") for v in db["versions"].rows)
    assert not any(v["text"].endswith("Footer") for v in db["versions"].rows)
    log = list(db["reextractions"].rows)
    assert len(log) == len(load_posts())
    assert log[0]["extractor_before"] == "trafilatura 1.0.0"
    assert log[0]["content_hash_before"] == "old-extractor-hash"


def test_due_in_a_cron_like_loop_never_overlaps(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    assert crawl(blog.base_url + "/", db_path).exit_code == 0
    make_due(db_path, site=True)
    command = [
        sys.executable, "-m", "scraper.run", "--due", "--db", str(db_path),
        "--log-file", str(tmp_path / "loop.log"), "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    ]  # fmt: skip
    runs = []
    for _ in range(6):  # a "cron" that fires every 0.4 s, faster than a crawl takes
        runs.append(subprocess.Popen(command))
        time.sleep(0.4)
        make_due(db_path, site=True)
    codes = [run.wait(timeout=120) for run in runs]
    assert set(codes) <= {0, 4}
    assert 4 in codes  # some runs found the lock taken...
    assert codes.count(0) >= 1  # ...and at least one did the work
    crawls = list(db_of(db_path).query("select started_at, finished_at from crawls order by id"))
    assert len(crawls) == 1 + codes.count(0)  # the first crawl, then one row per run that ran
    for earlier, later in itertools.pairwise(crawls):
        assert earlier["finished_at"] <= later["started_at"]  # never two at once
