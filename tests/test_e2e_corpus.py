"""End to end on real pages nobody here wrote: the corpus served as a blog, crawled, read back.

This is where the extraction quality of the whole path is measured: pages served over HTTP,
discovered through feed, sitemap and listing pages, extracted in worker processes, stored in
SQLite and read back — then scored against the ground truth.
"""

from __future__ import annotations

import re

import pytest
import sqlite_utils
import trafilatura

from archive.serve import make_datasette
from tests.corpus_blog import corpus_dir, load_corpus, render_corpus_blog
from tests.quality import f1_score

pytestmark = [pytest.mark.e2e, pytest.mark.corpus]

if not (corpus_dir() / "ground-truth.json").exists():
    pytest.skip(f"corpus not found at {corpus_dir()}", allow_module_level=True)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def corpus_site(corpus):
    from archive.demo.server import SiteServer

    with SiteServer() as server:
        server.publish(render_corpus_blog(corpus, server.base_url))
        yield server


@pytest.fixture(scope="module")
def crawled(corpus_site, tmp_path_factory):
    from tests.conftest import run_crawl

    db_path = tmp_path_factory.mktemp("corpus") / "archive.db"
    result = run_crawl(corpus_site.base_url + "/", db_path)
    assert result.exit_code == 0, result.stderr + result.log[-3000:]
    return db_path, result


def _texts(db_path):
    db = sqlite_utils.Database(db_path)
    rows = db.query(
        "select p.url, v.title, v.author, v.published_at, v.text from pages p"
        " join versions v on v.id = p.current_version_id"
    )
    return {row["url"].rstrip("/").rsplit("/", 1)[-1]: row for row in rows}


def test_every_article_archived_exactly_once(corpus, corpus_site, crawled):
    db_path, result = crawled
    db = sqlite_utils.Database(db_path)
    urls = [row["url"] for row in db["pages"].rows]
    assert len(urls) == len(set(urls))
    expected = {f"{corpus_site.base_url}/articles/{page.id}/" for page in corpus}
    assert set(urls) == expected  # no listing page, no feed, no sitemap
    assert db["versions"].count == len(corpus)
    assert result.stats["archive/new"] == len(corpus)
    rows = _texts(db_path).values()
    print(
        f"\n{len(rows)} articles: title {sum(bool(r['title']) for r in rows)},"
        f" byline {sum(bool(r['author']) for r in rows)},"
        f" date {sum(bool(r['published_at']) for r in rows)}, text {sum(bool(r['text']) for r in rows)};"
        f" crawl {result.stats.get('elapsed_time_seconds', 0):.1f}s,"
        f" {result.stats.get('downloader/request_count')} requests"
    )
    assert all(row["title"] and row["text"] for row in rows)
    # Not every real page names its author or dates itself; most do.
    assert sum(bool(row["author"]) for row in rows) >= 0.85 * len(corpus)  # measured 96 of 111
    assert sum(bool(row["published_at"]) for row in rows) >= 0.9 * len(corpus)


def test_archived_text_quality_beats_trafilatura_defaults(corpus, crawled):
    db_path, _ = crawled
    archived = _texts(db_path)
    ours = f1_score((page.truth, archived[page.id]["text"]) for page in corpus)
    reference = f1_score(
        (page.truth, trafilatura.extract(page.html, url=page.url, deduplicate=False) or "")
        for page in corpus
    )
    print(f"\nF1 through the whole path: {ours}\nF1 of trafilatura.extract(): {reference}")
    assert ours["f1"] >= reference["f1"]
    assert ours["f1"] >= 0.96  # the gate: measured 0.963 on the 111 pages


def _edit_one_word(page_html: str, archived_text: str) -> tuple[str, str, str]:
    """Change one word of a sentence that appears verbatim in both the HTML and the archived text."""
    for paragraph in sorted(archived_text.splitlines(), key=len, reverse=True):
        words = paragraph.split()
        for start in range(max(len(words) - 8, 1)):
            phrase = " ".join(words[start : start + 8])
            if (
                page_html.count(phrase) == 1
                and re.fullmatch(r"[A-Za-z]{4,}", words[start + 4])
                and _enclosing_tag(page_html, page_html.index(phrase)) in ("p", "a", "em", "b")
            ):
                old = words[start + 4]
                edited = phrase.replace(f" {old} ", " palimpsestly ", 1)
                return page_html.replace(phrase, edited), old, "palimpsestly"
    raise AssertionError("no editable sentence found")


def _enclosing_tag(page_html: str, position: int) -> str:
    """The name of the last tag opened before ``position`` (to skip scripts, meta and JSON-LD)."""
    return re.findall(r"<(\w+)", page_html[:position])[-1].lower()


@pytest.mark.asyncio
async def test_recrawl_then_one_edit_makes_one_version(corpus, corpus_site, crawled):
    from tests.conftest import run_crawl

    db_path, _ = crawled
    unchanged = run_crawl(corpus_site.base_url + "/", db_path)
    assert unchanged.exit_code == 0
    assert unchanged.stats["archive/not_modified"] == len(corpus)  # the server sends ETags
    assert "extract/ok" not in unchanged.stats
    assert sqlite_utils.Database(db_path)["versions"].count == len(corpus)

    target = corpus[7]
    archived = _texts(db_path)[target.id]["text"]
    pages = render_corpus_blog(corpus, corpus_site.base_url)
    path = f"/articles/{target.id}/"
    ctype, body = pages[path]
    edited, old_word, new_word = _edit_one_word(body.decode("utf-8"), archived)
    pages[path] = (ctype, edited.encode("utf-8"))
    corpus_site.publish(pages)

    after = run_crawl(corpus_site.base_url + "/", db_path)
    assert after.exit_code == 0
    assert after.stats["archive/changed"] == 1
    db = sqlite_utils.Database(db_path)
    assert db["versions"].count == len(corpus) + 1
    [page] = db.query("select id from pages where version_count = 2")

    ds = make_datasette(db_path)
    response = await ds.client.get(f"/-/diff/{page['id']}/1/2")
    assert response.status_code == 200
    marked = re.findall(r"<(del|ins)>(.*?)</\1>", response.text, flags=re.DOTALL)
    assert marked == [("del", old_word), ("ins", new_word)]
