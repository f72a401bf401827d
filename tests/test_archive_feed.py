"""The Atom feed of edits: entries carry their diff, escaped; filters by page and silence."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from archive.capture import record_capture
from archive.db import open_db
from archive.models import Article, Capture
from archive.serve import make_datasette

ATOM = "{http://www.w3.org/2005/Atom}"
PAYLOAD = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'


def capture(url, number, title, text, modified="2026-07-02"):
    return Capture(
        url=url,
        page_url=url,
        fetched_at=f"2026-11-2{number}T10:00:00Z",
        http_status=200,
        body=f"{title}{text}".encode(),
        article=Article(title=title, author="Ann", text=text, modified_at=modified, extractor="t"),
    )


@pytest.fixture
def archive_path(tmp_path):
    path = tmp_path / "archive.db"
    db = open_db(path)
    a, b = "http://127.0.0.1:8000/posts/a/", "http://127.0.0.1:8000/posts/b/"
    record_capture(db, capture(a, 1, "Rules", "On June 30, 2024, the office said so."))
    record_capture(db, capture(a, 2, "Rules", "On June 30, 2026, the office said so."))
    record_capture(db, capture(b, 1, "Plain", "First text."))
    record_capture(
        db,
        capture(b, 3, f"Plain {PAYLOAD}", f"Updated: first text. {PAYLOAD}", modified="2026-11-23"),
    )
    db.close()
    return path


async def fetch(path, url):
    response = await make_datasette(path).client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    return response.text, ET.fromstring(response.text)


@pytest.mark.asyncio
async def test_feed_lists_edits_with_their_diffs(archive_path):
    raw, feed = await fetch(archive_path, "/-/edits.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2  # first versions are not edits
    newest, oldest = entries
    assert oldest.find(f"{ATOM}title").text == "Silent edit: Rules"
    content = oldest.find(f"{ATOM}content").text
    assert "<del>2024</del>" in content
    assert "<ins>2026</ins>" in content
    assert {c.get("term") for c in oldest.findall(f"{ATOM}category")} == {"text", "silent-edit"}
    link = oldest.find(f"{ATOM}link[@rel='alternate']").get("href")
    assert link.endswith("/-/diff/1/1/2")
    # The payload is text inside the entry, never markup: escaped in the HTML, then in the XML.
    assert "<script" not in raw
    assert "<img" not in raw
    new_content = newest.find(f"{ATOM}content").text
    assert "&lt;script&gt;" in new_content
    assert "<script" not in new_content
    assert newest.find(f"{ATOM}title").text.startswith(
        "Edited: Plain"
    )  # not silent: modified moved


@pytest.mark.asyncio
async def test_feed_filters(archive_path):
    _, silent = await fetch(archive_path, "/-/edits.atom?silent=1")
    assert [e.find(f"{ATOM}title").text for e in silent.findall(f"{ATOM}entry")] == [
        "Silent edit: Rules"
    ]
    _, one_page = await fetch(archive_path, "/-/edits.atom?page_id=2")
    assert len(one_page.findall(f"{ATOM}entry")) == 1
    response = await make_datasette(archive_path).client.get("/-/edits.atom?page_id=x")
    assert response.status_code == 400


@pytest.mark.asyncio
async def test_headline_and_silent_edit_queries(archive_path):
    ds = make_datasette(archive_path)
    rows = (await ds.client.get("/archive/headline_changes.json?_shape=array&since=")).json()
    assert [(r["old_title"], r["page_id"]) for r in rows] == [("Plain", 2)]
    rows = (await ds.client.get("/archive/silent_edits.json?_shape=array")).json()
    assert [r["page_id"] for r in rows] == [1]
