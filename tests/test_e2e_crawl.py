"""End to end: crawl the sample blog in a subprocess, recrawl, edit a post, recrawl."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from archive.demo import apply_corrections, load_posts
from archive.demo.posts import load_corrections
from archive.diff import diff_html

pytestmark = pytest.mark.e2e


def _versions(db_path):
    db = sqlite_utils.Database(db_path)
    return list(db.query("select p.url, v.* from versions v join pages p on p.id = v.page_id"))


def test_crawl_recrawl_and_edit(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    posts = load_posts()

    first = crawl(blog.base_url + "/", db_path)
    assert first.exit_code == 0, first.stderr + first.log[-3000:]
    db = sqlite_utils.Database(db_path)
    pages = {row["url"]: row for row in db["pages"].rows}
    expected = {f"{blog.base_url}/posts/{post.slug}/" for post in posts}
    assert set(pages) == expected  # every post, and no listing, tag, category or about page
    assert all(page["version_count"] == 1 for page in pages.values())
    versions = _versions(db_path)
    by_slug = {v["url"].rstrip("/").rsplit("/", 1)[-1]: v for v in versions}
    for post in posts:
        version = by_slug[post.slug]
        assert version["title"] == post.title
        assert version["author"] == post.author
        assert version["published_at"].startswith(post.date)
        assert "\n" in version["text"]  # paragraph breaks survive for the diffs
        assert post.standfirst not in ("", None)
        assert version["extractor"].startswith("trafilatura ")
        assert version["body_sha256"]
    assert first.stats["archive/new"] == len(posts)
    assert db["captures"].count == len(posts)
    assert db["bodies"].count == len(posts)
    crawl_row = next(db["crawls"].rows)
    assert crawl_row["finish_reason"] == "finished"
    assert json.loads(crawl_row["stats"])["archive/new"] == len(posts)

    # Nothing changed: every fetch is logged, no version is added, nothing is extracted, and
    # the server (which sends ETags) answers every article with 304 Not Modified.
    second = crawl(blog.base_url + "/", db_path)
    assert second.exit_code == 0
    assert second.stats["archive/not_modified"] == len(posts)
    assert "archive/new" not in second.stats
    assert "archive/changed" not in second.stats
    assert "extract/ok" not in second.stats
    assert db["versions"].count == len(posts)
    assert db["captures"].count == 2 * len(posts)
    assert db["bodies"].count == len(posts)  # identical bodies are stored once

    # The publisher silently fixes a date in one post.
    blog.publish_posts(apply_corrections(posts))
    third = crawl(blog.base_url + "/", db_path)
    assert third.exit_code == 0
    assert third.stats["archive/changed"] == 1
    assert third.stats["archive/not_modified"] == len(posts) - 1
    assert third.stats["extract/ok"] == 1  # only the edited post was extracted
    assert db["versions"].count == len(posts) + 1
    [changed] = [p for p in db["pages"].rows if p["version_count"] == 2]
    slug, correction = next(iter(load_corrections().items()))
    assert changed["url"].endswith(f"/posts/{slug}/")
    v1, v2 = db["versions"].rows_where("page_id = ?", [changed["id"]], order_by="version")
    assert json.loads(v2["changed_fields"]) == ["text"]
    assert (v2["words_added"], v2["words_removed"]) == (1, 1)
    html = diff_html(v1["text"], v2["text"])["diff"]
    old_year = set(correction["old"].split()) - set(correction["new"].split())
    new_year = set(correction["new"].split()) - set(correction["old"].split())
    assert html.count("<del>") == 1
    assert html.count("<ins>") == 1
    assert f"<del>{next(iter(old_year)).rstrip(',')}</del>" in html
    assert f"<ins>{next(iter(new_year)).rstrip(',')}</ins>" in html
    outcomes = [c["outcome"] for c in db["captures"].rows_where("page_id = ?", [changed["id"]])]
    assert outcomes == ["new", "not_modified", "changed"]


def test_robots_txt_is_obeyed_and_scope_kept(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    result = crawl(blog.base_url + "/", db_path)
    assert result.exit_code == 0
    assert blog.hits["/robots.txt"] >= 1
    assert not any(path.startswith("/private") for path in blog.hits)  # Disallow: /private/
    assert result.stats.get("robotstxt/forbidden", 0) >= 1


def test_max_pages_limits_articles(blog, crawl, tmp_path):
    db_path = tmp_path / "archive.db"
    result = crawl(blog.base_url + "/", db_path, "--max-pages", "3")
    assert result.exit_code == 0
    assert sqlite_utils.Database(db_path)["pages"].count == 3


def test_unreachable_site_exits_1_and_bad_archive_exits_3(crawl, tmp_path):
    down = crawl("http://127.0.0.1:9/", tmp_path / "a.db", settings={"RETRY_TIMES": "0"})
    assert down.exit_code == 1
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not an SQLite file" * 100)
    unusable = crawl("http://127.0.0.1:9/", bad)
    assert unusable.exit_code == 3
    assert "cannot open archive" in unusable.stderr
    assert bad.read_bytes().startswith(b"this is not")  # nothing overwritten
    not_url = crawl("file:///etc/passwd", tmp_path / "b.db")
    assert not_url.exit_code == 3
