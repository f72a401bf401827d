"""The archive's write path stays cheap: few SQL statements per capture, ids cached safely."""

from __future__ import annotations

import sqlite3

import pytest

from archive import capture as capture_module
from archive import store
from archive.capture import record_capture
from archive.db import open_db
from archive.models import Article, Capture

SITE = "http://blog.test/"


def capture(n: int, **kwargs) -> Capture:
    url = f"{SITE}posts/{n}/"
    fields = {
        "url": url,
        "page_url": url,
        "site_url": SITE,
        "fetched_at": "2026-11-29T10:00:00Z",
        "http_status": 200,
        "etag": f'"{n}"',
        "body": f"<html><p>Post {n}.</p></html>".encode(),
        "content_type": "text/html; charset=utf-8",
        "encoding": "utf-8",
        "article": Article(title=f"Post {n}", text=f"Post {n}.", extractor="t 1", site_name="Blog"),
    }
    fields.update(kwargs)
    return Capture(**fields)


def statements(db, capture: Capture) -> list[str]:
    """The SQL statements ``record_capture`` runs for this capture.

    The trace also reports what SQLite runs on the writer's behalf: each trigger program as the
    statement that fired it again (so repeats in a row are one statement), and FTS5's own
    statements, which start with ``--``.
    """
    trace: list[str] = []
    db.conn.set_trace_callback(trace.append)
    try:
        record_capture(db, capture)
    finally:
        db.conn.set_trace_callback(None)
    ours = [sql for sql in trace if not sql.startswith("--")]
    return [sql for i, sql in enumerate(ours) if i == 0 or sql != ours[i - 1]]


def writes(trace: list[str]) -> list[str]:
    return [sql.strip() for sql in trace if sql.split()[0].lower() in ("insert", "update")]


def test_statements_per_capture(db):
    record_capture(db, capture(0))  # the site is known from now on
    new = statements(db, capture(1))
    assert len(new) <= 12, new
    assert not [sql for sql in new if "sqlite_master" in sql or "PRAGMA" in sql.upper()]
    not_modified = capture(1, http_status=304, body=None, article=None)
    assert len(statements(db, not_modified)) <= 6
    same_body = capture(1, fetched_at="2026-11-30T10:00:00Z", body_unchanged=True, article=None)
    assert len(statements(db, same_body)) <= 6
    edited = capture(
        1,
        fetched_at="2026-12-01T10:00:00Z",
        body=b"<p>Edited</p>",
        article=Article(title="Post 1", text="Post 1, edited.", extractor="t 1"),
    )
    assert len(statements(db, edited)) <= 12


def test_events_and_aliases_only_when_there_are_some(db):
    record_capture(db, capture(1))
    quiet = statements(db, capture(1, url=f"{SITE}posts/1/?utm_source=feed", http_status=304))
    assert not [sql for sql in writes(quiet) if "page_events" in sql or "page_urls" in sql]
    gone = statements(db, capture(1, http_status=410, body=None, article=None))
    assert [sql for sql in writes(gone) if "page_events" in sql] == [
        (
            "insert into page_events (page_id, at, event, detail)"
            " values (1, '2026-11-29T10:00:00Z', 'gone', 'HTTP 410')"
        ),
        "update page_events set capture_id = 3 where page_id = 1 and capture_id is null",
    ]
    short = record_capture(db, capture(1, url=f"{SITE}?p=1", body_unchanged=True))
    assert short.events == ["returned"]
    assert [row["url"] for row in db["page_urls"].rows] == [f"{SITE}?p=1"]
    assert [row["capture_id"] for row in db["page_events"].rows] == [3, short.capture_id]


def test_a_site_added_by_another_connection_is_found(tmp_path):
    path = tmp_path / "archive.db"
    db = open_db(path)
    record_capture(db, capture(1))  # caches blog.test
    other = sqlite3.connect(path)
    with other:
        other.execute(
            "insert into sites (url, host, added_at) values (?, ?, ?)",
            ["http://other.test/", "other.test", "2026-11-29T09:00:00Z"],
        )
    other.close()
    url = "http://other.test/a/"
    result = record_capture(db, capture(2, url=url, page_url=url, site_url="http://other.test/"))
    site = db.execute("select id from sites where host = 'other.test'").fetchone()[0]
    assert db["pages"].get(result.page_id)["site_id"] == site
    assert db["sites"].count == 2
    db.close()


def test_a_rolled_back_site_is_not_remembered(db, monkeypatch):
    real = capture_module._insert_capture

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(capture_module, "_insert_capture", explode)
    with pytest.raises(RuntimeError):
        record_capture(db, capture(1))  # adds the site, then rolls it back
    assert db["sites"].count == 0
    monkeypatch.setattr(capture_module, "_insert_capture", real)
    result = record_capture(db, capture(1))
    assert result.outcome == "new"
    site_id = db["pages"].get(result.page_id)["site_id"]
    assert db["sites"].get(site_id)["host"] == "blog.test"


def test_a_batch_whose_commit_fails_is_rolled_back_and_forgotten(db):
    db.begin()
    record_capture(db, capture(1))  # adds the site inside the batch
    db.execute("PRAGMA defer_foreign_keys = ON")  # so that COMMIT is what fails
    db.execute("update captures set page_id = 999")
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_batch(db)
    assert not db.conn.in_transaction
    assert db["sites"].count == db["pages"].count == 0
    result = record_capture(db, capture(2))
    site_id = db["pages"].get(result.page_id)["site_id"]
    assert db["sites"].get(site_id)["host"] == "blog.test"
