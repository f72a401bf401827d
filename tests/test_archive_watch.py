"""Sites, due lists, the crawl lock, and the store's revisit outcomes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from archive import store, watch
from archive.capture import record_capture
from archive.lock import CrawlLock, LockHeld
from archive.models import Article, Capture

URL = "http://127.0.0.1:8000/posts/a/"


def capture(when, **kwargs):
    fields = {
        "url": URL,
        "page_url": URL,
        "fetched_at": when,
        "http_status": 200,
        "body": b"<html>v1</html>",
        "etag": '"v1"',
        "article": Article(title="T", author="A", text="Text one.", modified_at="2026-07-02"),
    }
    fields.update(kwargs)
    return Capture(**fields)


def test_sites_add_list_remove(db):
    site = watch.add_site(db, "http://127.0.0.1:8000/", every=7200)
    assert site["discover_every"] == 7200
    assert [s["url"] for s in watch.due_sites(db, "2026-11-29T00:00:00Z")] == [site["url"]]
    record_capture(db, capture("2026-11-29T10:00:00Z"))
    [listed] = watch.list_sites(db)
    assert (listed["pages"], listed["pages_revised"]) == (1, 0)
    watch.remove_site(db, "http://127.0.0.1:8000/anything")
    assert watch.list_sites(db) == []
    assert len(watch.list_sites(db, include_removed=True)) == 1
    assert watch.due_sites(db, "2026-11-29T00:00:00Z") == []
    assert watch.due_pages(db, "2999-01-01T00:00:00Z") == []  # a removed site's pages rest
    assert watch.remove_site(db, "http://unknown.test/") is None


def test_revisit_schedule_and_page_state(db):
    record_capture(db, capture("2026-11-29T10:00:00Z"))
    state = watch.page_state(db, URL + "?utm_source=x")
    assert state.etag == '"v1"'
    assert state.body_sha256
    assert state.next_check_at == "2026-11-29T10:15:00Z"  # just changed: 15 minutes
    assert [p["url"] for p in watch.due_pages(db, "2026-11-29T10:15:00Z")] == [URL]
    assert watch.due_pages(db, "2026-11-29T10:14:59Z") == []
    result = record_capture(
        db, capture("2026-11-30T12:00:00Z", http_status=304, body=None, article=None)
    )
    assert result.outcome == "not_modified"
    assert result.version == 1
    assert watch.page_state(db, URL).next_check_at == "2026-11-30T16:00:00Z"  # a day old: 4 h


def test_gone_and_returned_and_silent_edit(db):
    record_capture(db, capture("2026-11-29T10:00:00Z"))
    gone = record_capture(db, capture("2026-11-29T11:00:00Z", http_status=410, article=None))
    assert (gone.outcome, gone.events) == ("gone", ["gone"])
    again = record_capture(db, capture("2026-11-29T12:00:00Z", http_status=404, article=None))
    assert (again.outcome, again.events) == ("gone", [])  # gone once, not twice
    back = record_capture(
        db,
        capture(
            "2026-11-29T13:00:00Z",
            article=Article(title="T", author="A", text="Text two.", modified_at="2026-07-02"),
        ),
    )
    assert back.outcome == "changed"
    assert back.events == ["returned"]
    page = db["pages"].get(back.page_id)
    assert (page["status"], page["gone_at"]) == ("active", None)
    version = db["versions"].get(back.version_id)
    assert version["silent_edit"] == 1  # same declared modification date, no update notice
    events = [e["event"] for e in db["page_events"].rows]
    assert events == ["gone", "returned"]


def test_unknown_page_errors_make_no_page(db):
    result = record_capture(db, capture("2026-11-29T10:00:00Z", http_status=404, article=None))
    assert (result.outcome, result.page_id) == ("error", None)
    assert db["pages"].count == 0


def test_aliases_lead_to_one_page(db):
    first = record_capture(db, capture("2026-11-29T10:00:00Z", url=URL + "amp/"))
    shortlink = "http://127.0.0.1:8000/?p=123"  # redirects to the article, whose canonical is URL
    second = record_capture(db, capture("2026-11-29T11:00:00Z", url=shortlink, page_url=URL))
    assert first.page_id == second.page_id
    assert store.find_page(db, URL + "amp/")["id"] == first.page_id  # same identity key
    assert store.find_page(db, shortlink)["id"] == first.page_id  # recorded alias
    assert [(row["url"], row["kind"]) for row in db["page_urls"].rows] == [(shortlink, "alias")]


def test_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "archive.db"
    with CrawlLock(path):
        other = subprocess.run(
            [sys.executable, "-c", f"from archive.lock import CrawlLock\nwith CrawlLock({str(path)!r}): pass"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert other.returncode == 1
        assert "LockHeld" in other.stderr
        assert "pid" in other.stderr
        with pytest.raises(LockHeld), CrawlLock(path):
            pass
    with CrawlLock(path):  # released on exit
        pass
