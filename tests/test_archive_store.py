"""The archive's write path: captures, versions, bodies, atomicity."""

from __future__ import annotations

import json

import pytest

from archive import capture as capture_module
from archive import store
from archive.capture import record_capture
from archive.db import ArchiveError, open_db
from archive.migrations import migrations
from archive.models import Article, Capture


def capture(text="First paragraph.\nSecond paragraph.", title="A title", **kwargs):
    fields = {
        "url": "http://127.0.0.1:8000/posts/a/?utm_source=x",
        "page_url": "http://127.0.0.1:8000/posts/a/",
        "fetched_at": "2026-11-29T10:00:00Z",
        "http_status": 200,
        "body": f"<html><h1>{title}</h1><p>{text}</p></html>".encode(),
        "content_type": "text/html; charset=utf-8",
        "encoding": "utf-8",
        "article": Article(title=title, author="Ann Writer", text=text, extractor="test 1"),
    }
    fields.update(kwargs)
    return Capture(**fields)


def test_first_capture_is_version_one(db):
    result = record_capture(db, capture())
    assert (result.outcome, result.version) == ("new", 1)
    page = db["pages"].get(result.page_id)
    assert page["version_count"] == 1
    assert page["current_version_id"] == result.version_id
    assert page["first_seen_at"] == page["last_changed_at"] == "2026-11-29T10:00:00Z"
    version = db["versions"].get(result.version_id)
    assert version["word_count"] == version["words_added"] == 4
    assert version["changed_fields"] == "[]"
    assert db["sites"].count == 1


def test_refetch_with_cosmetic_differences_is_unchanged(db):
    record_capture(db, capture())
    again = capture(
        text="First\u00a0paragraph.\n\n  Second   paragraph. ",
        title="A  title",
        fetched_at="2026-11-29T11:00:00Z",
        body=b"<html>different bytes</html>",
    )
    result = record_capture(db, again)
    assert result.outcome == "unchanged"
    assert db["versions"].count == 1
    page = db["pages"].get(result.page_id)
    assert page["last_checked_at"] == "2026-11-29T11:00:00Z"
    assert page["last_changed_at"] == "2026-11-29T10:00:00Z"
    assert db["captures"].count == 2


def test_edit_makes_version_two_with_counts_and_fields(db):
    record_capture(db, capture())
    edited = capture(
        text="First paragraph.\nSecond edited paragraph.",
        title="A new title",
        fetched_at="2026-11-29T12:00:00Z",
    )
    result = record_capture(db, edited)
    assert (result.outcome, result.version) == ("changed", 2)
    assert result.changed_fields == ["title", "text"]
    version = db["versions"].get(result.version_id)
    assert (version["words_added"], version["words_removed"]) == (1, 0)
    assert json.loads(version["changed_fields"]) == ["title", "text"]
    page = db["pages"].get(result.page_id)
    assert page["version_count"] == 2
    assert page["current_version_id"] == result.version_id
    rows = list(db.query("select outcome, version_id from captures order by id"))
    assert [r["outcome"] for r in rows] == ["new", "changed"]


def test_identical_bodies_are_stored_once_and_read_back(db):
    first = record_capture(db, capture())
    record_capture(db, capture(fetched_at="2026-11-29T13:00:00Z"))
    assert db["bodies"].count == 1
    sha = db["captures"].get(first.capture_id)["body_sha256"]
    assert store.read_body(db, sha) == capture().body
    row = db["bodies"].get(sha)
    assert row["size"] == len(capture().body)
    assert row["content_type"] == "text/html; charset=utf-8"
    assert store.read_body(db, "0" * 64) is None


def test_errors_are_captures_never_versions(db):
    unknown = record_capture(db, capture(article=None, error="HTTP 503", http_status=503))
    assert unknown.outcome == "error"
    assert unknown.page_id is None  # never archived before: no page invented for it
    ok = record_capture(db, capture())
    failed = record_capture(
        db,
        capture(article=None, error="no article text extracted", fetched_at="2026-11-29T14:00:00Z"),
    )
    assert failed.outcome == "error"
    assert failed.page_id == ok.page_id
    assert db["versions"].count == 1
    assert db["pages"].get(ok.page_id)["last_checked_at"] == "2026-11-29T14:00:00Z"
    assert db["captures"].get(failed.capture_id)["error"] == "no article text extracted"


def test_a_failure_mid_item_leaves_nothing_half_written(db, monkeypatch):
    record_capture(db, capture())

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(capture_module, "_insert_capture", explode)
    with pytest.raises(RuntimeError):
        record_capture(
            db, capture(text="Changed text entirely.", fetched_at="2026-11-29T15:00:00Z")
        )
    assert db["versions"].count == 1
    assert db["captures"].count == 1
    assert db["pages"].get(1)["version_count"] == 1
    assert db["bodies"].count == 1


def test_crawl_rows(db):
    crawl_id = store.start_crawl(db, ["http://127.0.0.1:8000/"], now="2026-11-29T10:00:00Z")
    store.finish_crawl(db, crawl_id, "finished", {"archive/new": 3}, now="2026-11-29T10:01:00Z")
    row = db["crawls"].get(crawl_id)
    assert row["finish_reason"] == "finished"
    assert json.loads(row["stats"]) == {"archive/new": 3}
    assert db["sites"].get(1)["last_crawled_at"] == "2026-11-29T10:01:00Z"


def test_file_archive_is_wal_and_migrations_are_idempotent(tmp_path):
    path = tmp_path / "archive.db"
    db = open_db(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    record_capture(db, capture())
    db.close()
    again = open_db(path)
    assert again["versions"].count == 1
    names = [row["name"] for row in again["_sqlite_migrations"].rows]
    assert names == [m.name for m in migrations._migrations]  # each applied once


def test_migrating_an_old_archive_keeps_its_rows(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before="m002_revisits_identity_deletions")
    old["sites"].insert(
        {"url": "http://x.test/", "host": "x.test", "added_at": "2026-01-01T00:00:00Z"}
    )
    old["pages"].insert(
        {"url": "http://www.x.test/a/", "site_id": 1, "first_seen_at": "2026-01-01T00:00:00Z"}
    )
    old.close()
    db = open_db(path)
    assert db["pages"].get(1)["url_key"] == "http://x.test/a"
    assert store.find_page(db, "http://x.test/a?utm_source=feed")["id"] == 1


def test_unusable_archive_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 64)
    with pytest.raises(ArchiveError, match="cannot open archive"):
        open_db(junk)
    with pytest.raises(ArchiveError, match="directory does not exist"):
        open_db(tmp_path / "missing" / "a.db")


def test_full_text_search_follows_versions(db):
    record_capture(db, capture(text="The committee met on Tuesday."))
    rows = list(db.query("select rowid from versions_fts where versions_fts match 'committee'"))
    assert len(rows) == 1


def test_archive_stats(db):
    record_capture(db, capture())
    record_capture(db, capture(text="Other text.", fetched_at="2026-11-29T16:00:00Z"))
    numbers = store.archive_stats(db)
    assert numbers["pages"] == 1
    assert numbers["versions"] == 2
    assert numbers["pages_revised"] == 1
    assert numbers["captures_by_outcome"] == {"changed": 1, "new": 1}


def test_bodies_are_zstd_and_old_zlib_rows_still_read(db):
    import zlib

    old_body = b"<html><p>Archived before zstd.</p></html>" * 50
    db["bodies"].insert(  # a row as archives written with zlib hold it
        {
            "sha256": "a" * 64,
            "size": len(old_body),
            "compression": "zlib",
            "body": zlib.compress(old_body, 6),
        }
    )
    assert store.read_body(db, "a" * 64) == old_body
    page = ("<html>" + "Ünïcode text, repeated. " * 400 + "</html>").encode()
    result = record_capture(db, capture(body=page))
    sha = db["captures"].get(result.capture_id)["body_sha256"]
    row = db["bodies"].get(sha)
    assert row["compression"] == "zstd"
    assert len(row["body"]) < len(page) // 10
    assert store.read_body(db, sha) == page  # byte for byte
    db["bodies"].insert({"sha256": "b" * 64, "size": 1, "compression": "lzma", "body": b"?"})
    with pytest.raises(ValueError, match="unknown body compression 'lzma'"):
        store.read_body(db, "b" * 64)


def test_a_body_seen_before_is_not_stored_again(db):
    first = record_capture(db, capture())
    again = record_capture(
        db, capture(fetched_at="2026-11-29T13:00:00Z", body_unchanged=True, article=None)
    )
    assert again.outcome == "unchanged"
    assert db["bodies"].count == 1
    sha = db["captures"].get(first.capture_id)["body_sha256"]
    assert db["captures"].get(again.capture_id)["body_sha256"] == sha
    assert db["pages"].get(first.page_id)["body_sha256"] == sha


def test_a_body_digest_the_crawler_computed_is_not_computed_again(db, monkeypatch):
    first = record_capture(db, capture())
    sha = db["captures"].get(first.capture_id)["body_sha256"]
    monkeypatch.setattr(store.hashlib, "sha256", pytest.fail)  # the spider hashed it already
    again = record_capture(
        db,
        capture(
            fetched_at="2026-11-29T13:00:00Z", body_unchanged=True, body_sha256=sha, article=None
        ),
    )
    assert again.outcome == "unchanged"
    assert db["captures"].get(again.capture_id)["body_sha256"] == sha


def test_switching_extraction_options_is_never_an_edit(db):
    from archive.extract import ExtractOptions, extract_article
    from tests.corpus_blog import load_corpus

    page = load_corpus()[9]  # a page whose text favor_precision changes
    body = page.html.encode()

    def fetch(options, when):
        article = extract_article(page.html, page.url, options)
        return Capture(
            url=page.url,
            page_url=page.url,
            fetched_at=when,
            http_status=200,
            body=body,
            content_type="text/html; charset=utf-8",
            encoding="utf-8",
            article=article,
        )

    first = record_capture(db, fetch(ExtractOptions(), "2026-11-29T10:00:00Z"))
    precise = fetch(ExtractOptions(favor_precision=True), "2026-11-30T10:00:00Z")
    assert precise.article.extractor != first_extractor(db)
    assert precise.article.text != db["versions"].get(first.version_id)["text"]
    # The stored body is extracted again with the new article's own options before comparing.
    assert record_capture(db, precise).outcome == "unchanged"
    assert db["versions"].count == 1


def first_extractor(db):
    return db.execute("select extractor from versions order by id limit 1").fetchone()[0]
