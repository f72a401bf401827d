"""A big generated archive for the Datasette benchmark: 100,000 versions of corpus texts.

Written with ``archive.db.open_db`` (the real schema, its FTS triggers included) and bulk
inserts. Page 1 is one 10,000-word article with a few versions; pages 2–51 have 200 versions
each (live blogs, corrected stories); every other page has 1 to 4. Each version edits a few words
of the one before, sometimes adding a paragraph, as real corrections do.

The archive is cached under the work directory and rebuilt only when ``SPEC`` changes or the
file is missing; pending migrations are applied each time it is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from archive.db import open_db
from archive.urls import url_key
from tests.corpus_blog import load_corpus, page_title

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlite_utils import Database

logger = logging.getLogger(__name__)

SPEC = 1  # bump when the generated content changes, to rebuild cached archives
SITE = "https://bigblog.example"
LONG_PAGE = 1
LONG_WORDS = 10_000
LONG_VERSIONS = 5
HOT_PAGES = range(2, 52)
HOT_VERSIONS = 200
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
_EDIT_WORDS = ("revised", "corrected", "clarified", "updated", "amended", "disputed", "confirmed")


@dataclass(frozen=True)
class BigArchive:
    """Where the archive is and what is in it."""

    path: Path
    versions: int
    pages: int
    long_page: int
    long_versions: int
    long_words: int


def _when(page: int, version: int) -> str:
    moment = EPOCH + timedelta(minutes=page, hours=6 * version)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _edit(paragraphs: list[str], rng: random.Random, version: int) -> list[str]:
    """The next version: a few words changed, now and then a paragraph added."""
    edited = list(paragraphs)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(edited))
        words = edited[index].split()
        if words:
            words[rng.randrange(len(words))] = rng.choice(_EDIT_WORDS)
            edited[index] = " ".join(words)
    if rng.random() < 0.3:
        edited.append(
            f"Update {version}: this story was {rng.choice(_EDIT_WORDS)} after publication."
        )
    return edited


def _long_article(texts: list[str]) -> list[str]:
    """Paragraphs of several corpus articles, up to ``LONG_WORDS`` words."""
    paragraphs: list[str] = []
    words = 0
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                paragraphs.append(line.strip())
                words += len(line.split())
                if words >= LONG_WORDS:
                    return paragraphs
    raise ValueError("the corpus is too small for the long article")


def _plan(total: int) -> Iterator[tuple[int, int]]:
    """(page id, number of versions) until ``total`` versions are planned."""
    planned, page = 0, 1
    while planned < total:
        if page == LONG_PAGE:
            count = LONG_VERSIONS
        elif page in HOT_PAGES:
            count = HOT_VERSIONS
        else:
            count = 1 + page % 4
        count = min(count, total - planned)
        yield page, count
        planned, page = planned + count, page + 1


def _version_rows(page: int, count: int, base: list[str], title: str) -> Iterator[dict[str, Any]]:
    rng = random.Random(page)
    paragraphs = [f"Story {page}.", *base]
    previous_words = 0
    for version in range(1, count + 1):
        if version > 1:
            paragraphs = _edit(paragraphs, rng, version)
        text = "\n".join(paragraphs)
        words = len(text.split())
        yield {
            "page_id": page,
            "version": version,
            "captured_at": _when(page, version),
            "content_hash": hashlib.sha256(text.encode()).hexdigest(),
            "title": title,
            "author": f"Reporter {page % 97}",
            "published_at": _when(page, 0)[:10],
            "language": "en",
            "tags": "[]",
            "categories": "[]",
            "text": text,
            "word_count": words,
            "words_added": words if version == 1 else max(words - previous_words, 0) + 2,
            "words_removed": 0 if version == 1 else 2,
            "changed_fields": "[]" if version == 1 else '["text"]',
            "extractor": "bench generator",
        }
        previous_words = words


def _only_columns(db: Database, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop keys the table does not have (the schema may have moved on since SPEC)."""
    columns = set(db[table].columns_dict)
    return [{k: v for k, v in row.items() if k in columns} for row in rows]


def _insert_page(db: Database, page: int, count: int, base: list[str], title: str) -> int:
    url = f"{SITE}/{_when(page, 0)[:7].replace('-', '/')}/story-{page}/"
    first, last = _when(page, 1), _when(page, count)
    page_row = {
        "id": page,
        "url": url,
        "url_key": url_key(url),
        "site_id": 1,
        "first_seen_at": first,
        "last_checked_at": last,
        "last_changed_at": last,
        "version_count": count,
        "status": "active",
    }
    db["pages"].insert_all(_only_columns(db, "pages", [page_row]))
    rows = list(_version_rows(page, count, base, title))
    db["versions"].insert_all(_only_columns(db, "versions", rows), batch_size=200)
    return count


def build(path: Path, total: int) -> BigArchive:
    """Generate the archive at ``path`` (replacing it) with ``total`` versions."""
    corpus = [page for page in load_corpus() if page.truth.strip()]
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    db = open_db(tmp)
    db.execute("PRAGMA synchronous = OFF")  # a scratch file: rebuilt if the build is cut short
    long_paragraphs = _long_article([page.truth for page in corpus])
    pages = 0
    with db.conn:
        db["sites"].insert_all(
            _only_columns(
                db,
                "sites",
                [{"id": 1, "url": SITE, "host": "bigblog.example", "added_at": _when(0, 0)}],
            )
        )
        for page, count in _plan(total):
            if page == LONG_PAGE:
                base, title = long_paragraphs, "The very long article"
            else:
                source = corpus[page % len(corpus)]
                base, title = source.truth.splitlines(), page_title(source.html)
            _insert_page(db, page, count, [line for line in base if line.strip()], title)
            pages += 1
            if page % 5000 == 0:
                logger.info("big archive: %s pages written", page)
        db.execute(
            "update pages set current_version_id = (select id from versions v"
            " where v.page_id = pages.id order by v.version desc limit 1)"
        )
    db.close()
    tmp.rename(path)
    long_words = sum(len(p.split()) for p in long_paragraphs) + 2
    info = BigArchive(path, total, pages, LONG_PAGE, LONG_VERSIONS, long_words)
    path.with_suffix(".json").write_text(json.dumps({"spec": SPEC, **_as_dict(info)}))
    return info


def _as_dict(info: BigArchive) -> dict[str, Any]:
    return {k: str(v) if k == "path" else v for k, v in info.__dict__.items()}


def big_archive(work: Path, total: int) -> BigArchive:
    """The cached archive of ``total`` versions under ``work``, built if needed."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"bigarchive-{total}.db"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if saved.pop("spec", None) == SPEC:
            open_db(path).close()  # apply migrations added since it was built
            saved["path"] = path
            return BigArchive(**saved)
    logger.info("building a big archive of %s versions at %s (cached afterwards)", total, path)
    return build(path, total)
