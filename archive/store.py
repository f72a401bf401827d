"""Writing captures and versions, and reading them back.

``record_capture`` is the one way rows get written: a fetch, its raw body, and — when the article
changed — a new version, all in one transaction, so a crash never leaves half an item behind.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archive.diff import word_changes
from archive.models import Article, Capture, CaptureResult
from archive.normalize import content_fingerprint, normalize_text, word_count
from archive.schedule import DEFAULT_DISCOVERY, add_seconds, revisit_interval
from archive.urls import url_key

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
            # The site was just discovered: its next discovery is one interval away.
            site = db.execute(
                "select id, discover_every from sites where host = ?", [host_of(url)]
            ).fetchone()
            if site is not None:
                every = site[1] or DEFAULT_DISCOVERY
                db["sites"].update(
                    site[0],
                    {
                        "last_crawled_at": finished,
                        "next_discovery_at": add_seconds(finished, every),
                    },
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
    """Record one fetch and what came of it (a new version, a gone page, …). One transaction."""
    with db.atomic():
        return _CaptureWriter(db, capture).write()


GONE_STATUSES = (404, 410)
PERMANENT_REDIRECTS = (301, 308)


class _CaptureWriter:
    """The steps of ``record_capture``, sharing the capture, its page and the result."""

    def __init__(self, db: Database, capture: Capture) -> None:
        self.db = db
        self.capture = capture
        self.now = capture.fetched_at
        self.events: list[str] = []
        self.body_sha: str | None = None

    def write(self) -> CaptureResult:
        capture = self.capture
        if capture.body is not None and capture.http_status != 304:
            self.body_sha = store_body(
                self.db, capture.body, capture.content_type, capture.encoding
            )
        page = self._resolve_page()
        status = capture.http_status or 0
        if page is not None and status == 304:
            return self._finish(page, "not_modified", self._current(page))
        if status in GONE_STATUSES or capture.redirected_home:
            if page is not None and page["version_count"]:
                return self._gone(page)
            return self._error(page)
        if capture.error or status >= 300 or status == 304:
            return self._error(page)
        if capture.body_unchanged and page is not None and self._current(page) is not None:
            return self._finish(page, "unchanged", self._current(page))
        if capture.article is None:
            return self._error(page)
        return self._content(page)

    # -- identity ----------------------------------------------------------------------------

    def _resolve_page(self) -> dict[str, Any] | None:
        """The page this capture is of: by its canonical URL, then the URL requested."""
        capture = self.capture
        page = find_page_by_key(self.db, url_key(capture.page_url))
        requested = find_page_by_key(self.db, url_key(capture.url))
        if page is None and requested is not None:
            page = requested
            moved = any(code in PERMANENT_REDIRECTS for code in capture.redirect_statuses[:1])
            if moved and capture.article is not None and capture.http_status == 200:
                page = self._move(page, capture.page_url)
        return page

    def _move(self, page: dict[str, Any], new_url: str) -> dict[str, Any]:
        """A permanent redirect: the page keeps its history and takes its new URL."""
        self._alias(page["id"], page["url"], kind="former")
        self.db["pages"].update(page["id"], {"url": new_url, "url_key": url_key(new_url)})
        self._event(page["id"], "moved", f"{page['url']} → {new_url}")
        return dict(self.db["pages"].get(page["id"]))

    def _alias(self, page_id: int, url: str, *, kind: str = "alias") -> None:
        key = url_key(url)
        self.db.execute(
            "insert into page_urls (url_key, page_id, url, kind, first_seen_at) values (?, ?, ?, ?, ?)"
            " on conflict(url_key) do update set kind = excluded.kind"
            " where excluded.kind = 'former'",
            [key, page_id, url, kind, self.now],
        )

    # -- outcomes ----------------------------------------------------------------------------

    def _content(self, page: dict[str, Any] | None) -> CaptureResult:
        capture, article = self.capture, self.capture.article
        assert article is not None
        content_hash = capture.content_hash or content_fingerprint(article)
        if page is None:
            page = self._new_page()
        previous = self._current(page)
        if previous is not None and _same_content(self.db, previous, article, content_hash):
            return self._finish(page, "unchanged", previous)
        row = _version_row(page["id"], capture, article, content_hash, self.body_sha, previous)
        version_id = int(self.db["versions"].insert(row).last_pk)
        self.db["pages"].update(
            page["id"],
            {
                "last_changed_at": self.now,
                "version_count": row["version"],
                "current_version_id": version_id,
            },
        )
        if article.site_name:
            self.db.execute(
                "update sites set name = ? where id = ? and name is null",
                [article.site_name, page["site_id"]],
            )
        page = {**page, "last_changed_at": self.now}
        outcome = "new" if previous is None else "changed"
        result = self._finish(page, outcome, {"id": version_id, "version": row["version"]})
        result.changed_fields = json.loads(row["changed_fields"])
        return result

    def _gone(self, page: dict[str, Any]) -> CaptureResult:
        if page["status"] != "gone":
            detail = (
                "redirects to the home page"
                if self.capture.redirected_home
                else (f"HTTP {self.capture.http_status}")
            )
            self.db["pages"].update(page["id"], {"status": "gone", "gone_at": self.now})
            self._event(page["id"], "gone", detail)
        return self._finish({**page, "status": "gone"}, "gone", None)

    def _error(self, page: dict[str, Any] | None) -> CaptureResult:
        if page is None:
            capture_id = self._insert_capture(None, "error", None)
            return CaptureResult("error", capture_id)
        return self._finish(page, "error", None)

    def _finish(
        self, page: dict[str, Any], outcome: str, version: dict[str, Any] | None
    ) -> CaptureResult:
        """Update the page's check times, validators and status; insert the capture row."""
        capture = self.capture
        changes: dict[str, Any] = {"last_checked_at": self.now}
        if outcome in ("new", "changed", "unchanged", "not_modified") and page["status"] == "gone":
            changes.update(status="active", gone_at=None)
            self._event(page["id"], "returned", f"HTTP {capture.http_status}")
        if capture.http_status == 200 and self.body_sha:
            changes.update(
                etag=capture.etag, last_modified=capture.last_modified, body_sha256=self.body_sha
            )
        interval = revisit_interval(self.now, page.get("last_changed_at"), outcome)
        changes["next_check_at"] = add_seconds(self.now, interval)
        self.db["pages"].update(page["id"], changes)
        for url in {capture.url, capture.page_url}:
            if url_key(url) != url_key(page["url"]):
                self._alias(page["id"], url)
        version_id = version["id"] if version else None
        capture_id = self._insert_capture(page["id"], outcome, version_id)
        self.db.execute(
            "update page_events set capture_id = ? where page_id = ? and capture_id is null",
            [capture_id, page["id"]],
        )
        return CaptureResult(
            outcome,
            capture_id,
            page["id"],
            version_id,
            version["version"] if version else None,
            events=list(self.events),
        )

    # -- rows --------------------------------------------------------------------------------

    def _new_page(self) -> dict[str, Any]:
        capture = self.capture
        site_id = ensure_site(self.db, capture.site_url or capture.page_url, now=self.now)
        page_id = (
            self.db["pages"]
            .insert(
                {
                    "url": capture.page_url,
                    "url_key": url_key(capture.page_url),
                    "site_id": site_id,
                    "first_seen_at": self.now,
                    "status": "active",
                    "version_count": 0,
                }
            )
            .last_pk
        )
        return dict(self.db["pages"].get(page_id))

    def _current(self, page: dict[str, Any]) -> dict[str, Any] | None:
        if not page.get("current_version_id"):
            return None
        return dict(self.db["versions"].get(page["current_version_id"]))

    def _event(self, page_id: int, event: str, detail: str) -> None:
        self.events.append(event)
        self.db["page_events"].insert(
            {"page_id": page_id, "at": self.now, "event": event, "detail": detail}
        )

    def _insert_capture(self, page_id: int | None, outcome: str, version_id: int | None) -> int:
        return _insert_capture(self.db, self.capture, page_id, self.body_sha, outcome, version_id)


def _same_content(
    db: Database, previous: dict[str, Any], article: Article, content_hash: str
) -> bool:
    """Whether the article equals the page's current version.

    When the current version was made by another extractor (an upgrade), its raw body is
    extracted again with this one before comparing, so that an extractor change never looks like
    a publisher's edit.
    """
    if previous["content_hash"] == content_hash:
        return True
    if not article.extractor or previous["extractor"] == article.extractor:
        return False
    if not previous["body_sha256"]:
        return False
    from archive.reextract import extract_body

    again = extract_body(db, previous["body_sha256"], previous.get("canonical_url") or "")
    return again is not None and content_fingerprint(again) == content_hash


def article_columns(article: Article) -> dict[str, Any]:
    """The ``versions`` columns that come from extraction (what re-extraction re-derives)."""
    return {
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
        "extractor": article.extractor,
    }


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
        **article_columns(article),
        "body_sha256": body_sha,
    }
    if previous is None:
        row.update(
            words_added=row["word_count"], words_removed=0, changed_fields="[]", silent_edit=0
        )
    else:
        added, removed = word_changes(previous["text"] or "", article.text or "")
        # The fingerprint also covers what the page declares and lays out beyond the extracted
        # text (an <h1>, prose trafilatura left out); when only that moved, say so.
        changed = changed_fields(previous, row) or ["page_text"]
        row.update(
            words_added=added,
            words_removed=removed,
            changed_fields=json.dumps(changed),
            silent_edit=int(is_silent_edit(previous, row, changed)),
        )
    return row


_UPDATE_NOTICE = re.compile(
    r"\b(updated|update:|correction|corrected|clarification|editor'?s note|this (article|story|post)"
    r" (has been|was) (updated|amended|changed)|an earlier version of this)",
    re.IGNORECASE,
)


def is_silent_edit(old: dict[str, Any], new: dict[str, Any], changed: list[str]) -> bool:
    """A text edit with no sign of it: the declared modification date and any visible update
    notice are the same as before.

    >>> old = {"text": "A.", "modified_at": "2026-07-02"}
    >>> is_silent_edit(old, {"text": "B.", "modified_at": "2026-07-02"}, ["text"])
    True
    >>> is_silent_edit(old, {"text": "B. Correction: we said A.", "modified_at": "2026-07-02"}, ["text"])
    False
    >>> is_silent_edit(old, {"text": "B.", "modified_at": "2026-07-05"}, ["text", "modified_at"])
    False
    """
    if "text" not in changed or "modified_at" in changed:
        return False
    notices_before = len(_UPDATE_NOTICE.findall(old.get("text") or ""))
    return len(_UPDATE_NOTICE.findall(new.get("text") or "")) <= notices_before


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


def get_page(db: Database, url: str) -> dict[str, Any] | None:
    """The ``pages`` row for exactly this URL, or None."""
    rows = list(db["pages"].rows_where("url = ?", [url], limit=1))
    return rows[0] if rows else None


def find_page_by_key(db: Database, key: str) -> dict[str, Any] | None:
    """The page whose URL, or one of its aliases and former URLs, has this ``url_key``."""
    rows = list(db["pages"].rows_where("url_key = ?", [key], limit=1))
    if rows:
        return rows[0]
    alias = db.execute("select page_id from page_urls where url_key = ?", [key]).fetchone()
    return dict(db["pages"].get(alias[0])) if alias else None


def find_page(db: Database, url: str) -> dict[str, Any] | None:
    """The page ``url`` names: tracking parameters, ``www.``, trailing slash, AMP and former URLs
    after a move all lead to it."""
    return get_page(db, url) or find_page_by_key(db, url_key(url))


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
