"""The Datasette plugin, metadata and serve helpers, against a real archive file."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlite_utils
from datasette.app import Datasette
from markupsafe import Markup

from archive import datasette_plugin
from archive.capture import record_capture
from archive.db import open_db
from archive.models import Article, Capture
from archive.serve import datasette_command, load_metadata, make_datasette

STORY = "https://news.example/2026/budget"
EVIL_URL = "javascript:alert(1)"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEXT_V1 = "The council approved the budget on Tuesday.\nThe vote was seven to two."
TEXT_V2 = TEXT_V1.replace("Tuesday", "Wednesday")


def _capture(url: str, at: str, article: Article | None = None, **kwargs: object) -> Capture:
    body = b"<html>" + (article.text.encode() if article else b"") + b"</html>"
    return Capture(
        url=url,
        page_url=url,
        fetched_at=at,
        site_url="https://news.example/",
        http_status=kwargs.pop("http_status", 200),
        body=body if article else None,
        content_type="text/html",
        encoding="utf-8",
        article=article,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    """news.db: a story with 3 versions (a one-word edit, then a title change), and a hostile page."""
    path = tmp_path / "news.db"
    db = open_db(path)
    story = Article(title="Council approves budget", author="Ann Reporter", text=TEXT_V1)
    record_capture(db, _capture(STORY, "2026-01-01T10:00:00Z", story))
    record_capture(db, _capture(STORY, "2026-01-01T12:00:00Z", story))
    story.text = TEXT_V2
    record_capture(db, _capture(STORY, "2026-01-02T10:00:00Z", story))
    record_capture(
        db, _capture(STORY, "2026-01-02T12:00:00Z", http_status=503, error="HTTP 503 <b>busy</b>")
    )
    story.title = "Council approves revised budget"
    record_capture(db, _capture(STORY, "2026-01-03T10:00:00Z", story))
    evil = Article(title=SCRIPT, author=IMG, text=f"{IMG} first\n{SCRIPT} second")
    record_capture(db, _capture(EVIL_URL, "2026-01-01T11:00:00Z", evil))
    evil.text = f"{IMG} changed\n{SCRIPT} second"
    evil.title = f"{SCRIPT} {IMG}"
    record_capture(db, _capture(EVIL_URL, "2026-01-02T11:00:00Z", evil))
    db.conn.close()
    return path


@pytest.fixture
def ds(archive_path: Path):
    return make_datasette(archive_path)


def marks(html: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html.replace("&#34;", '"')


@pytest.mark.asyncio
async def test_article_page_lists_versions_and_captures(ds):
    r = await ds.client.get("/-/article/1")
    assert r.status_code == 200
    html = r.text
    assert f'<a href="{STORY}" rel="noopener nofollow">' in html
    assert "Council approves revised budget" in html
    assert html.count("diff with previous") == 2
    assert 'href="/-/diff/1/2"' in html
    assert 'href="/-/diff/1/3"' in html
    for fetched in ("2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z"):
        assert fetched in html
    assert "unchanged" in html
    assert "HTTP 503 &lt;b&gt;busy&lt;/b&gt;" in html
    assert "<p>The council approved the budget on Wednesday.</p>" in html
    assert '<select name="from"' in html


@pytest.mark.asyncio
async def test_diff_marks_exactly_the_edited_word(ds):
    html = (await ds.client.get("/-/diff/1/1/2")).text
    assert marks(html, "del") == ["Tuesday"]
    assert marks(html, "ins") == ["Wednesday"]
    assert "+1</span> word added" in html
    assert 'href="/-/article/1"' in html
    assert 'href="/-/diff/1/1"' in html  # previous: the first version
    assert 'href="/-/diff/1/3"' in html  # next change


@pytest.mark.asyncio
async def test_diff_side_by_side(ds):
    r = await ds.client.get("/-/diff/1/2?view=side")
    assert r.status_code == 200
    assert '<table class="side">' in r.text
    assert marks(r.text, "del") == ["Tuesday"]
    assert marks(r.text, "ins") == ["Wednesday"]


@pytest.mark.asyncio
async def test_default_diff_is_latest_against_previous_and_shows_fields(ds):
    html = (await ds.client.get("/-/diff/1")).text
    assert "Version 2" in html
    assert "version 3" in html
    assert marks(html, "del") == ["Council approves budget"]
    assert marks(html, "ins") == ["Council approves revised budget"]
    assert html == (await ds.client.get("/-/diff/1/3")).text
    assert html == (await ds.client.get("/-/diff/1?from=2&to=3")).text


@pytest.mark.asyncio
async def test_first_version_page(ds):
    r = await ds.client.get("/-/diff/1/1")
    assert r.status_code == 200
    assert "first archived version" in r.text
    assert "<p>The council approved the budget on Tuesday.</p>" in r.text
    data = (await ds.client.get("/-/diff/1/1.json")).json()
    assert data["first_version"] is True
    assert data["from"] is None


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/-/article/99", 404),
        ("/-/diff/99", 404),
        ("/-/diff/1/9", 404),
        ("/-/diff/1/0/2", 404),
        ("/-/diff/1/3/2", 400),
        ("/-/diff/1/2/2", 400),
        ("/-/diff/1?from=x", 400),
    ],
)
@pytest.mark.asyncio
async def test_errors(ds, path, status):
    assert (await ds.client.get(path)).status_code == status


@pytest.mark.asyncio
async def test_diff_json(ds):
    data = (await ds.client.get("/-/diff/1/1/2.json")).json()
    assert data["page"] == {"id": 1, "url": STORY}
    assert (data["from"]["version"], data["to"]["version"]) == (1, 2)
    assert (data["words_added"], data["words_removed"]) == (1, 1)
    assert "<del>Tuesday</del><ins>Wednesday</ins>" in data["html"]
    assert "[-Tuesday-]{+Wednesday+}" in data["unified"]
    assert data == (await ds.client.get("/-/diff/1/1/2?_format=json")).json()
    fields = (await ds.client.get("/-/diff/1.json")).json()["fields"]
    assert fields == [
        {
            "field": "title",
            "before": "Council approves budget",
            "after": "Council approves revised budget",
        }
    ]
    article = (await ds.client.get("/-/article/1.json")).json()
    assert [v["version"] for v in article["versions"]] == [1, 2, 3]


@pytest.mark.parametrize(
    "path",
    [
        "/-/article/2",
        "/-/diff/2",
        "/-/diff/2?view=side",
        "/-/diff/2/1",
        "/news/versions",
        "/news/versions/4",
        "/news/pages",
        "/news/captures",
        "/news/recent_changes",
        "/news/search?q=alert",
        "/news/changes_for_url?url=javascript%3Aalert%281%29",
    ],
)
@pytest.mark.asyncio
async def test_payloads_are_escaped(ds, path):
    r = await ds.client.get(path)
    assert r.status_code == 200
    assert "alert(1)" in r.text
    assert_escaped(r.text)


@pytest.mark.asyncio
async def test_unsafe_url_is_not_linked(ds):
    html = (await ds.client.get("/-/article/2")).text
    assert '<p class="url">javascript:alert(1)' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.asyncio
async def test_canned_queries(ds):
    rows = (await ds.client.get("/news/recent_changes.json?_shape=array")).json()
    assert [(r["url"], r["version"]) for r in rows] == [(STORY, 3), (EVIL_URL, 2), (STORY, 2)]
    assert rows[0]["diff_url"] == "/-/diff/1/3"
    rows = (await ds.client.get("/news/most_revised.json?_shape=array")).json()
    assert [(r["url"], r["version_count"]) for r in rows] == [(STORY, 3), (EVIL_URL, 2)]
    rows = (await ds.client.get("/news/search.json?_shape=array&q=Wednesday")).json()
    assert sorted(r["version"] for r in rows) == [2, 3]
    assert {r["url"] for r in rows} == {STORY}
    rows = (await ds.client.get(f"/news/changes_for_url.json?_shape=array&url={STORY}")).json()
    assert [r["version"] for r in rows] == [1, 2, 3]


@pytest.mark.asyncio
async def test_descriptions_and_links_in_tables(ds):
    html = (await ds.client.get("/news/versions")).text
    assert "One row per distinct revision of an article" in html
    assert "<dd>Words added since the previous version.</dd>" in html
    assert 'href="/-/diff/1/2"' in html
    assert 'href="/-/article/1"' in html
    html = (await ds.client.get("/news/recent_changes")).text
    assert '<a href="/-/diff/1/3">view diff</a>' in html
    html = (await ds.client.get("/news/pages")).text
    assert 'rel="noopener nofollow"' in html
    assert "Recent changes" in html  # the nav menu link
    assert "versions_fts" not in (await ds.client.get("/news")).text


@pytest.mark.asyncio
async def test_render_cell_directly(ds):
    await ds.invoke_startup()

    def render(value, column, table=None, row=None):
        return datasette_plugin.render_cell(
            row=row or {}, value=value, column=column, table=table, database="news", datasette=ds
        )

    unified = "--- before\n+++ after\n@@ -1 +1 @@\na [-<b>-]{+x+} c\n"
    assert render(unified, "text_diff") == Markup(
        '<pre class="palimpsest-udiff">--- before\n+++ after\n@@ -1 +1 @@\n'
        "a <del>&lt;b&gt;</del><ins>x</ins> c</pre>"
    )
    assert render("<p>a <del>b</del></p>", "body_diff") == Markup("<p>a <del>b</del></p>")
    assert "<img" not in render(f"<p>{IMG}</p>", "body_diff")
    assert render(STORY, "url", "pages", {"id": 1}) == Markup(
        f'<a href="{STORY}" rel="noopener nofollow">{STORY}</a> · <a href="/-/article/1">history</a>'
    )
    assert render(EVIL_URL, "url", "pages", {"id": 2}).startswith("javascript:alert(1) · <a")
    assert render(3, "version", "versions", {"page_id": 1}).startswith('<a href="/-/diff/1/3"')
    linked = render({"value": 2, "label": SCRIPT}, "page_id", "captures")
    assert linked == Markup('<a href="/-/article/2">&lt;script&gt;alert(1)&lt;/script&gt;</a>')
    assert render("plain", "title", "versions") is None


@pytest.mark.asyncio
async def test_sql_functions(ds):
    sql = "select diff_text('a b c', 'a x c') as d, words_added('a', 'a b c') as n, words_removed('a b', '') as m"
    rows = (await ds.client.get("/news.json", params={"sql": sql, "_shape": "array"})).json()
    assert rows == [{"d": "--- before\n+++ after\n@@ -1 +1 @@\na [-b-]{+x+} c\n", "n": 2, "m": 2}]


@pytest.mark.asyncio
async def test_archive_found_without_plugin_config(archive_path, tmp_path):
    other = sqlite_utils.Database(tmp_path / "other.db")
    other["notes"].insert({"text": "not an archive"})
    other.conn.close()
    make_datasette(archive_path)  # registers the plugin if its entry point is not installed
    ds = Datasette([str(tmp_path / "other.db"), str(archive_path)])
    assert (await ds.client.get("/-/article/1")).status_code == 200
    misconfigured = Datasette(
        [str(archive_path)], metadata={"plugins": {"palimpsest": {"database": "nope"}}}
    )
    assert (await misconfigured.client.get("/-/article/1")).status_code == 404
    assert (await misconfigured.client.get("/")).status_code == 200  # the menu link is skipped


def test_load_metadata_uses_real_database_name(archive_path):
    metadata = load_metadata(archive_path)
    assert set(metadata["databases"]) == {"news"}
    assert metadata["plugins"]["palimpsest"]["database"] == "news"
    assert "settings" not in metadata
    tables = metadata["databases"]["news"]["tables"]
    assert tables["pages"]["label_column"] == "url"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_datasette_command_serves_the_archive(archive_path):
    port = _free_port()
    command = datasette_command(archive_path, port=port)
    assert "-i" not in command
    assert command[command.index("--setting") + 1 : command.index("--setting") + 3] == [
        "sql_time_limit_ms",
        "3000",
    ]
    metadata_file = Path(command[command.index("--metadata") + 1])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        html = None
        for _ in range(100):
            try:
                with opener.open(f"http://127.0.0.1:{port}/-/article/1", timeout=5) as response:
                    html = response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
        metadata_file.unlink()
    assert html is not None, stderr.decode()
    assert "Council approves revised budget" in html


@pytest.mark.asyncio
async def test_stylesheet_is_served_and_linked(ds):
    r = await ds.client.get("/-/palimpsest.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert "dl.column-descriptions" in r.text
    for page in ("/news/versions", "/news/recent_changes", "/news"):
        assert 'href="/-/palimpsest.css"' in (await ds.client.get(page)).text


@pytest.mark.asyncio
async def test_versions_text_is_cut_short_in_tables_but_whole_elsewhere(ds, archive_path):
    long_text = " ".join(f"word{i}" for i in range(300))
    db = open_db(archive_path)
    record_capture(
        db, _capture(LONG_URL, "2026-01-04T10:00:00Z", Article(title="Long", text=long_text))
    )
    db.conn.close()
    html = (await ds.client.get("/news/versions")).text
    assert long_text not in html
    assert 'class="palimpsest-excerpt">word0 word1' in html
    assert '<a class="palimpsest-more" href="/news/versions/6">300 words · full text</a>' in html
    row = (await ds.client.get("/news/versions/6")).text
    assert f'<div class="palimpsest-fulltext">{long_text}</div>' in row
    data = (await ds.client.get("/news/versions/6.json?_shape=array")).json()
    assert data[0]["text"] == long_text  # JSON and CSV keep the whole text
    # The hostile version's excerpt is escaped too.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; second" in html


LONG_URL = "https://news.example/2026/long-read"


@pytest.mark.asyncio
async def test_tables_sort_newest_first_with_helpful_facets(ds):
    captures = (await ds.client.get("/news/captures.json?_shape=objects")).json()
    fetched = [row["fetched_at"] for row in captures["rows"]]
    assert fetched == sorted(fetched, reverse=True)
    assert fetched[0] == "2026-01-03T10:00:00Z"
    assert {"outcome", "http_status", "crawl_id"} <= set(captures["facet_results"])
    assert captures["suggested_facets"] == []  # only the curated facets
    outcomes = {f["value"]: f["count"] for f in captures["facet_results"]["outcome"]["results"]}
    assert outcomes == {"new": 2, "changed": 3, "unchanged": 1, "error": 1}
    versions = (await ds.client.get("/news/versions.json?_shape=array")).json()
    captured = [row["captured_at"] for row in versions]
    assert captured == sorted(captured, reverse=True)


@pytest.mark.asyncio
async def test_canned_queries_hide_sql_and_link_articles(ds):
    html = (await ds.client.get("/news/recent_changes")).text
    assert "<title>Recent changes — news</title>" in html  # not the query's SQL
    assert "from recent_changes" not in html
    custom = (await ds.client.get("/news", params={"sql": "select 1 as one"})).text
    assert "<title>news: select 1 as one</title>" in custom  # other queries keep Datasette's title
    assert '<span class="palimpsest-field">text</span>' in html  # changed_fields as chips
    html = (await ds.client.get("/news/most_revised")).text
    assert '<a href="/-/article/1" title="article history">1</a>' in html
    html = (await ds.client.get("/news/search?q=Wednesday")).text
    assert 'href="/-/article/1"' in html


@pytest.mark.asyncio
async def test_most_revised_has_no_diff_for_single_version_pages(ds, archive_path):
    db = open_db(archive_path)
    record_capture(
        db, _capture(LONG_URL, "2026-01-04T10:00:00Z", Article(title="Once", text="Once."))
    )
    db.conn.close()
    rows = (await ds.client.get("/news/most_revised.json?_shape=array")).json()
    assert {r["url"]: r["diff_url"] for r in rows} == {
        STORY: "/-/diff/1",
        EVIL_URL: "/-/diff/2",
        LONG_URL: None,
    }


@pytest.mark.asyncio
async def test_menu_links_to_the_canned_queries(ds):
    html = (await ds.client.get("/")).text
    for href, label in [
        ("/news/recent_changes", "Recent changes"),
        ("/news/most_revised", "Most revised articles"),
        ("/news/search", "Search all versions"),
    ]:
        assert f'<a href="{href}">{label}</a>' in html


@pytest.mark.asyncio
async def test_article_and_diff_navigation(ds):
    html = (await ds.client.get("/-/article/1")).text
    assert '<a href="/news">news</a>' in html  # breadcrumbs
    assert '<a href="/news/pages">pages</a>' in html
    assert 'href="/news/versions?page_id=1"' in html
    assert 'href="/news/captures?page_id=1"' in html
    assert 'href="/-/diff/1/1">view text</a>' in html
    html = (await ds.client.get("/-/diff/1/1/2")).text
    assert '<a href="/-/article/1">article 1</a>' in html
    assert '<div class="diff-text diff-marked">' in html
    assert "<title>Versions 1 → 2 — Council approves budget</title>" in html
    html = (await ds.client.get("/-/diff/1/1")).text
    assert '<span class="disabled">← previous change</span>' in html
    assert "diff-marked" not in html.split("</style>")[1]  # the first version is plain text
    side = (await ds.client.get("/-/diff/1/1/2?view=side")).text
    assert '<tr class="equal">' in side
    assert '<tr class="changed">' in side
    assert "Version 1 <small>(older)" in side


@pytest.mark.asyncio
async def test_render_cell_chips_and_crawl_stats_are_escaped(ds):
    await ds.invoke_startup()

    def render(value, column, table=None, row=None):
        return datasette_plugin.render_cell(
            row=row or {}, value=value, column=column, table=table, database="news", datasette=ds
        )

    chips = render(f'["title", "{SCRIPT}"]', "tags", "versions")
    assert chips == Markup(
        '<span class="palimpsest-field">title</span>'
        '<span class="palimpsest-field">&lt;script&gt;alert(1)&lt;/script&gt;</span>'
    )
    assert render("not json", "changed_fields", "versions") is None
    assert render('{"a": 1}', "changed_fields", "versions") is None
    assert render('["x"]', "tags", "pages") is None  # only the archive's list columns
    stats = render(json.dumps({"error": SCRIPT, "pages": 3}), "stats", "crawls")
    assert stats.startswith('<details class="palimpsest-json"><summary>2 counters</summary>')
    assert "<script>" not in stats
    assert render(5, "page_id", None) == Markup(
        '<a href="/-/article/5" title="article history">5</a>'
    )
    assert render(True, "page_id", None) is None
