"""Writing captures and versions, and reading them back.

``record_capture`` is the one way rows get written: a fetch, its raw body, and — when the article
changed — a new version, all in one transaction, so a crash never leaves half an item behind.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archive.diff import word_changes
from archive.models import Article, Capture, CaptureResult
from archive.normalize import content_fingerprint, normalize_text, word_count

if TYPE_CHECKING:
    from sqlite_utils import Database

# Fields compared between consecutive versions to fill ``versions.changed_fields``.
COMPARED_FIELDS = (
    "title",
    "author",
    "text",
    "published_at",
    "modified_at",
    "description",
    "language",
    "tags",
    "categories",
    "image",
    "canonical_url",
)
_NORMALISED_FIELDS = {"title", "author", "text", "description"}


def utc_now() -> str:
    """The current time as ISO 8601 UTC with seconds, e.g. ``2026-11-29T16:18:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_of(url: str) -> str:
    """Lower-case ``host[:port]`` of a URL, without a leading ``www.``.

    >>> host_of("https://WWW.Example.org:8080/a")
    'example.org:8080'
    """
    netloc = urlsplit(url).netloc.lower().rsplit("@", 1)[-1]
    return netloc.removeprefix("www.")


def ensure_site(db: Database, url: str, *, now: str | None = None) -> int:
    """The id of the site ``url`` belongs to, adding it if it is new."""
    host = host_of(url)
    row = db.execute("select id from sites where host = ?", [host]).fetchone()
    if row:
        return int(row[0])
    return int(db["sites"].insert({"url": url, "host": host, "added_at": now or utc_now()}).last_pk)


def start_crawl(db: Database, start_urls: list[str], *, now: str | None = None) -> int:
    """Insert a ``crawls`` row and return its id."""
    with db.atomic():
        for url in start_urls:
            ensure_site(db, url, now=now)
        return int(
            db["crawls"]
            .insert({"started_at": now or utc_now(), "start_urls": json.dumps(start_urls)})
            .last_pk
        )


def finish_crawl(
    db: Database, crawl_id: int, reason: str, stats: dict[str, Any], *, now: str | None = None
) -> None:
    """Record how a crawl ended and its counters."""
    finished = now or utc_now()
    with db.atomic():
        db["crawls"].update(
            crawl_id,
            {
                "finished_at": finished,
                "finish_reason": reason,
                "stats": json.dumps(stats, default=str),
            },
        )
        urls = json.loads(db["crawls"].get(crawl_id)["start_urls"] or "[]")
        for url in urls:
            db.execute(
                "update sites set last_crawled_at = ? where host = ?", [finished, host_of(url)]
            )


def store_body(db: Database, body: bytes, content_type: str | None, encoding: str | None) -> str:
    """Store a raw body once per distinct SHA-256, compressed; return the digest."""
    digest = hashlib.sha256(body).hexdigest()
    exists = db.execute("select 1 from bodies where sha256 = ?", [digest]).fetchone()
    if not exists:
        db["bodies"].insert(
            {
                "sha256": digest,
                "content_type": content_type,
                "encoding": encoding,
                "size": len(body),
                "compression": "zlib",
                "body": zlib.compress(body, 6),
            }
        )
    return digest


def read_body(db: Database, sha256: str) -> bytes | None:
    """The raw body with this digest, decompressed, or None if it is not stored."""
    row = db.execute("select compression, body from bodies where sha256 = ?", [sha256]).fetchone()
    if row is None:
        return None
    compression, blob = row
    if compression != "zlib":
        raise ValueError(f"unknown body compression {compression!r}")
    return zlib.decompress(blob)


def record_capture(db: Database, capture: Capture) -> CaptureResult:
    """Record one fetch and, if the article is new or changed, a new version. One transaction."""
    with db.atomic():
        return _record_capture(db, capture)


def _record_capture(db: Database, capture: Capture) -> CaptureResult:
    body_sha = None
    if capture.body is not None:
        body_sha = store_body(db, capture.body, capture.content_type, capture.encoding)
    page = get_page(db, capture.page_url)
    article = capture.article

    if article is None or capture.error:
        page_id = page["id"] if page else None
        if page_id is not None:
            db["pages"].update(page_id, {"last_checked_at": capture.fetched_at})
        capture_id = _insert_capture(db, capture, page_id, body_sha, "error", None)
        return CaptureResult("error", capture_id, page_id)

    content_hash = capture.content_hash or content_fingerprint(article)
    if page is None:
        site_id = ensure_site(db, capture.site_url or capture.page_url, now=capture.fetched_at)
        page_id = int(
            db["pages"]
            .insert(
                {
                    "url": capture.page_url,
                    "site_id": site_id,
                    "first_seen_at": capture.fetched_at,
                    "status": "active",
                    "version_count": 0,
                }
            )
            .last_pk
        )
        previous = None
    else:
        page_id = page["id"]
        previous = _current_version(db, page)

    if previous is not None and previous["content_hash"] == content_hash:
        db["pages"].update(page_id, {"last_checked_at": capture.fetched_at, "status": "active"})
        capture_id = _insert_capture(db, capture, page_id, body_sha, "unchanged", None)
        return CaptureResult("unchanged", capture_id, page_id, previous["id"], previous["version"])

    version_row = _version_row(page_id, capture, article, content_hash, body_sha, previous)
    version_id = int(db["versions"].insert(version_row).last_pk)
    db["pages"].update(
        page_id,
        {
            "last_checked_at": capture.fetched_at,
            "last_changed_at": capture.fetched_at,
            "version_count": version_row["version"],
            "current_version_id": version_id,
            "status": "active",
        },
    )
    if article.site_name:
        db.execute(
            "update sites set name = ? where id = (select site_id from pages where id = ?)"
            " and name is null",
            [article.site_name, page_id],
        )
    outcome = "new" if previous is None else "changed"
    capture_id = _insert_capture(db, capture, page_id, body_sha, outcome, version_id)
    return CaptureResult(
        outcome,
        capture_id,
        page_id,
        version_id,
        version_row["version"],
        json.loads(version_row["changed_fields"]),
    )


def _version_row(
    page_id: int,
    capture: Capture,
    article: Article,
    content_hash: str,
    body_sha: str | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "page_id": page_id,
        "version": 1 if previous is None else previous["version"] + 1,
        "captured_at": capture.fetched_at,
        "content_hash": content_hash,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at,
        "modified_at": article.modified_at,
        "description": article.description,
        "site_name": article.site_name,
        "language": article.language,
        "tags": json.dumps(article.tags, ensure_ascii=False),
        "categories": json.dumps(article.categories, ensure_ascii=False),
        "canonical_url": article.canonical_url,
        "image": article.image,
        "text": article.text,
        "word_count": word_count(article.text),
        "body_sha256": body_sha,
        "extractor": article.extractor,
    }
    if previous is None:
        row.update(words_added=row["word_count"], words_removed=0, changed_fields="[]")
    else:
        added, removed = word_changes(previous["text"] or "", article.text or "")
        row.update(
            words_added=added,
            words_removed=removed,
            changed_fields=json.dumps(changed_fields(previous, row)),
        )
    return row


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of the compared fields whose (normalised) values differ between two version rows.

    >>> changed_fields({"title": "A", "text": "x"}, {"title": "A ", "text": "y"})
    ['text']
    """
    changed = []
    for name in COMPARED_FIELDS:
        a, b = old.get(name), new.get(name)
        if name in _NORMALISED_FIELDS:
            a, b = normalize_text(a), normalize_text(b)
        elif name in ("tags", "categories"):
            a, b = a or "[]", b or "[]"
        if a != b:
            changed.append(name)
    return changed


def _insert_capture(
    db: Database,
    capture: Capture,
    page_id: int | None,
    body_sha: str | None,
    outcome: str,
    version_id: int | None,
) -> int:
    return int(
        db["captures"]
        .insert(
            {
                "page_id": page_id,
                "crawl_id": capture.crawl_id,
                "fetched_at": capture.fetched_at,
                "url": capture.url,
                "final_url": capture.final_url,
                "http_status": capture.http_status,
                "etag": capture.etag,
                "last_modified": capture.last_modified,
                "body_sha256": body_sha,
                "bytes": len(capture.body) if capture.body is not None else None,
                "outcome": outcome,
                "version_id": version_id,
                "error": capture.error,
            }
        )
        .last_pk
    )


def _current_version(db: Database, page: dict[str, Any]) -> dict[str, Any] | None:
    if page["current_version_id"] is None:
        return None
    return dict(db["versions"].get(page["current_version_id"]))


def get_page(db: Database, url: str) -> dict[str, Any] | None:
    """The ``pages`` row for a canonical URL, or None."""
    rows = list(db["pages"].rows_where("url = ?", [url], limit=1))
    return rows[0] if rows else None


def find_page(db: Database, url: str) -> dict[str, Any] | None:
    """The page for ``url``, matching it exactly, then with or without a trailing slash."""
    for candidate in (url, url.rstrip("/"), url.rstrip("/") + "/"):
        page = get_page(db, candidate)
        if page:
            return page
    return None


def page_versions(db: Database, page_id: int) -> list[dict[str, Any]]:
    """All versions of a page, oldest first."""
    return list(db["versions"].rows_where("page_id = ?", [page_id], order_by="version"))


def get_version(db: Database, page_id: int, version: int) -> dict[str, Any] | None:
    """Version number ``version`` of a page, or None."""
    rows = list(
        db["versions"].rows_where("page_id = ? and version = ?", [page_id, version], limit=1)
    )
    return rows[0] if rows else None


def page_captures(db: Database, page_id: int) -> list[dict[str, Any]]:
    """Every fetch of a page, oldest first."""
    return list(db["captures"].rows_where("page_id = ?", [page_id], order_by="fetched_at, id"))


def archive_stats(db: Database) -> dict[str, Any]:
    """Counts that describe the archive as a whole."""

    def scalar(sql: str) -> Any:
        return db.execute(sql).fetchone()[0]

    outcomes = dict(
        db.execute("select outcome, count(*) from captures group by outcome").fetchall()
    )
    return {
        "sites": scalar("select count(*) from sites"),
        "pages": scalar("select count(*) from pages"),
        "pages_revised": scalar("select count(*) from pages where version_count > 1"),
        "versions": scalar("select count(*) from versions"),
        "captures": scalar("select count(*) from captures"),
        "captures_by_outcome": outcomes,
        "crawls": scalar("select count(*) from crawls"),
        "bodies": scalar("select count(*) from bodies"),
        "bodies_bytes_compressed": scalar("select coalesce(sum(length(body)), 0) from bodies"),
        "bodies_bytes_raw": scalar("select coalesce(sum(size), 0) from bodies"),
        "last_crawl_at": scalar("select max(started_at) from crawls"),
    }
