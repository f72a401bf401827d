"""What each contender produced, read back: the text of every post, and the bytes it took.

Texts are keyed by post number and scored against the corpus ground truth with the benchmark's
own F1 (``tests/quality.py``), after removing the sentence the blog added to each post. A post a
contender did not archive counts as an empty extraction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from bench.blog import post_number
from bench.corpus import marked_post, strip_marker
from tests.quality import f1_score

if TYPE_CHECKING:
    from bench.corpus import Template

Texts = dict[int, str]


def score(texts: Texts, templates: list[Template], n: int) -> float:
    """Extraction F1 over posts 0…n-1 (pages weighted equally, as the corpus benchmark does)."""
    pairs = (
        (templates[post % len(templates)].truth, strip_marker(texts.get(post, "")))
        for post in range(n)
    )
    return f1_score(pairs)["f1"]


def texts_from_jsonl(path: Path, key: str, text: str = "text") -> Texts:
    """Texts from JSON lines: ``key`` holds a post number or a post URL."""
    texts: Texts = {}
    if not path.exists():
        return texts
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("{"):
                continue  # a log line that reached stdout
            row = json.loads(line)
            value = row.get(key)
            post = value if isinstance(value, int) else post_number(str(value or ""))
            if post is None:  # trafilatura took the URL from the page's JSON-LD: ask the text
                post = marked_post(row.get(text) or "")
            if post is not None:
                texts[post] = row.get(text) or ""
    return texts


def _query(path: Path, sql: str) -> list[tuple]:
    if not path.exists():
        return []  # the contender failed before it wrote anything: its log says why
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # no such table: the contender stopped before it created it
    finally:
        conn.close()


def texts_from_tutorial(path: Path) -> Texts:
    """The tutorial pipeline's ``articles`` table."""
    rows = _query(path, "select url, text from articles")
    return {post: text or "" for url, text in rows if (post := post_number(url)) is not None}


def texts_from_archive(path: Path) -> Texts:
    """The current version of every page of a Palimpsest archive."""
    rows = _query(
        path, "select p.url, v.text from pages p join versions v on v.id = p.current_version_id"
    )
    return {post: text or "" for url, text in rows if (post := post_number(url)) is not None}


def sqlite_bytes(path: Path) -> int:
    """Size of a SQLite database once its write-ahead log is checkpointed into it."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        conn.execute("pragma wal_checkpoint(truncate)")
    finally:
        conn.close()
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a database consistently (SQLite's backup API), replacing ``target``."""
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
