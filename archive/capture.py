"""Writing a capture: a fetch, its raw body and — when the article changed — a new version.

``record_capture`` is the one way these rows get written, atomically (a transaction of its own, or
a savepoint of the crawl's batch), so a crash never leaves half an item behind. It runs once per
page fetched, so it speaks plain SQL: sqlite3 keeps the statements prepared, no schema is looked
up, and no row is read back after it was written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from archive.diff import word_changes
from archive.models import Article, Capture, CaptureResult
from archive.normalize import content_fingerprint
from archive.schedule import add_seconds, revisit_interval
from archive.urls import url_key

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.revisions import article_columns, changed_fields, is_silent_edit
from archive.store import (
    forget_cached_ids,
    page_row_by_key,
    row_as_dict,
    site_id,
    store_body,
)


def record_capture(db: Database, capture: Capture) -> CaptureResult:
    """Record one fetch and what came of it (a new version, a gone page, …).

    Atomic: a transaction of its own, or a savepoint when the caller has one open (a batch).
    """
    try:
        with db.atomic():
            return _CaptureWriter(db, capture).write()
    except BaseException:
        forget_cached_ids(db)  # the rollback may have undone a site this capture added
        raise


GONE_STATUSES = (404, 410)
PERMANENT_REDIRECTS = (301, 308)
_INSERT_PAGE = """
insert into pages (url, url_key, site_id, first_seen_at, status, version_count)
values (:url, :url_key, :site_id, :first_seen_at, :status, :version_count)
"""
# Every column a capture may change but the URL (see _move): the page dict is written back whole.
_UPDATE_PAGE = """
update pages set last_checked_at = :last_checked_at, next_check_at = :next_check_at,
  last_changed_at = :last_changed_at, version_count = :version_count,
  current_version_id = :current_version_id, status = :status, gone_at = :gone_at,
  etag = :etag, last_modified = :last_modified, body_sha256 = :body_sha256
where id = :id
"""
_INSERT_VERSION = """
insert into versions (page_id, version, captured_at, content_hash, title, author, published_at,
  modified_at, description, site_name, language, tags, categories, canonical_url, image, text,
  word_count, extractor, body_sha256, words_added, words_removed, changed_fields, silent_edit)
values (:page_id, :version, :captured_at, :content_hash, :title, :author, :published_at,
  :modified_at, :description, :site_name, :language, :tags, :categories, :canonical_url, :image,
  :text, :word_count, :extractor, :body_sha256, :words_added, :words_removed, :changed_fields,
  :silent_edit)
"""
_INSERT_CAPTURE = """
insert into captures (page_id, crawl_id, fetched_at, url, final_url, http_status, etag,
  last_modified, body_sha256, bytes, outcome, version_id, error)
values (:page_id, :crawl_id, :fetched_at, :url, :final_url, :http_status, :etag,
  :last_modified, :body_sha256, :bytes, :outcome, :version_id, :error)
"""
_INSERT_ALIAS = """
insert into page_urls (url_key, page_id, url, kind, first_seen_at) values (?, ?, ?, ?, ?)
on conflict(url_key) do update set kind = excluded.kind where excluded.kind = 'former'
"""


class _CaptureWriter:
    """The steps of ``record_capture``, sharing the capture, its page and the result.

    The page is a dict of its ``pages`` row (plus ``current_version``, the current version's
    number) that the steps change in place; ``_finish`` writes it back in one statement.
    """

    def __init__(self, db: Database, capture: Capture) -> None:
        self.db = db
        self.capture = capture
        self.now = capture.fetched_at
        self.events: list[str] = []
        self.body_sha: str | None = None
        self._keys: dict[str, str] = {}

    def write(self) -> CaptureResult:
        capture = self.capture
        if capture.body is not None and capture.http_status != 304:
            self.body_sha = store_body(
                self.db,
                capture.body,
                capture.content_type,
                capture.encoding,
                seen=capture.body_unchanged,
                digest=capture.body_sha256,
            )
        page = self._resolve_page()
        status = capture.http_status or 0
        if page is not None and status == 304:
            return self._finish(page, "not_modified", _current(page))
        if status in GONE_STATUSES or capture.redirected_home:
            if page is not None and page["version_count"]:
                return self._gone(page)
            return self._error(page)
        if capture.error or status >= 300 or status == 304:
            return self._error(page)
        if capture.body_unchanged and page is not None and _current(page) is not None:
            return self._finish(page, "unchanged", _current(page))
        if capture.article is None:
            return self._error(page)
        return self._content(page)

    # -- identity ----------------------------------------------------------------------------

    def _key(self, url: str) -> str:
        if url not in self._keys:
            self._keys[url] = url_key(url)
        return self._keys[url]

    def _resolve_page(self) -> dict[str, Any] | None:
        """The page this capture is of: by its canonical URL, then the URL requested."""
        capture = self.capture
        page = page_row_by_key(self.db, self._key(capture.page_url))
        if page is None and self._key(capture.url) != self._key(capture.page_url):
            page = page_row_by_key(self.db, self._key(capture.url))
            moved = any(code in PERMANENT_REDIRECTS for code in capture.redirect_statuses[:1])
            moved = moved and capture.article is not None and capture.http_status == 200
            if page is not None and moved:
                self._move(page, capture.page_url)
        return page

    def _move(self, page: dict[str, Any], new_url: str) -> None:
        """A permanent redirect: the page keeps its history and takes its new URL."""
        self._alias(page["id"], page["url"], kind="former")
        new_key = self._key(new_url)
        self.db.execute(
            "update pages set url = ?, url_key = ? where id = ?", [new_url, new_key, page["id"]]
        )
        self._event(page["id"], "moved", f"{page['url']} → {new_url}")
        page.update(url=new_url, url_key=new_key)

    def _alias(self, page_id: int, url: str, *, kind: str = "alias") -> None:
        self.db.execute(_INSERT_ALIAS, [self._key(url), page_id, url, kind, self.now])

    # -- outcomes ----------------------------------------------------------------------------

    def _content(self, page: dict[str, Any] | None) -> CaptureResult:
        capture, article = self.capture, self.capture.article
        assert article is not None
        content_hash = capture.content_hash or content_fingerprint(article)
        if page is None:
            page = self._new_page()
        previous = self._previous(page)
        if previous is not None and _same_content(self.db, previous, article, content_hash):
            return self._finish(page, "unchanged", _current(page))
        row = _version_row(page["id"], capture, article, content_hash, self.body_sha, previous)
        version_id = int(self.db.execute(_INSERT_VERSION, row).lastrowid or 0)
        page.update(
            last_changed_at=self.now,
            version_count=row["version"],
            current_version_id=version_id,
            current_version=row["version"],
        )
        if article.site_name:
            self.db.execute(
                "update sites set name = ? where id = ? and name is null",
                [article.site_name, page["site_id"]],
            )
        outcome = "new" if previous is None else "changed"
        result = self._finish(page, outcome, _current(page))
        result.changed_fields = json.loads(row["changed_fields"])
        return result

    def _gone(self, page: dict[str, Any]) -> CaptureResult:
        if page["status"] != "gone":
            detail = (
                "redirects to the home page"
                if self.capture.redirected_home
                else (f"HTTP {self.capture.http_status}")
            )
            page.update(status="gone", gone_at=self.now)
            self._event(page["id"], "gone", detail)
        return self._finish(page, "gone", None)

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
        page["last_checked_at"] = self.now
        if outcome in ("new", "changed", "unchanged", "not_modified") and page["status"] == "gone":
            page.update(status="active", gone_at=None)
            self._event(page["id"], "returned", f"HTTP {capture.http_status}")
        if capture.http_status == 200 and self.body_sha:
            page.update(
                etag=capture.etag, last_modified=capture.last_modified, body_sha256=self.body_sha
            )
        interval = revisit_interval(self.now, page["last_changed_at"], outcome)
        page["next_check_at"] = add_seconds(self.now, interval)
        self.db.execute(_UPDATE_PAGE, page)
        aliased = {self._key(page["url"])}
        for url in (capture.url, capture.page_url):
            if self._key(url) not in aliased:
                aliased.add(self._key(url))
                self._alias(page["id"], url)
        version_id = version["id"] if version else None
        capture_id = self._insert_capture(page["id"], outcome, version_id)
        if self.events:  # they were inserted without it: the capture row did not exist yet
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
        page: dict[str, Any] = dict.fromkeys(_PAGE_COLUMNS)
        page.update(
            url=capture.page_url,
            url_key=self._key(capture.page_url),
            site_id=site_id(self.db, capture.site_url or capture.page_url, self.now),
            first_seen_at=self.now,
            status="active",
            version_count=0,
        )
        page["id"] = int(self.db.execute(_INSERT_PAGE, page).lastrowid or 0)
        return page

    def _previous(self, page: dict[str, Any]) -> dict[str, Any] | None:
        """The page's current version, the whole row."""
        if not page["current_version_id"]:
            return None
        cursor = self.db.execute(
            "select * from versions where id = ?", [page["current_version_id"]]
        )
        return row_as_dict(cursor, cursor.fetchone())

    def _event(self, page_id: int, event: str, detail: str) -> None:
        self.events.append(event)
        self.db.execute(
            "insert into page_events (page_id, at, event, detail) values (?, ?, ?, ?)",
            [page_id, self.now, event, detail],
        )

    def _insert_capture(self, page_id: int | None, outcome: str, version_id: int | None) -> int:
        return _insert_capture(self.db, self.capture, page_id, self.body_sha, outcome, version_id)


# The page dict of a page inserted by this capture: its row, and no current version yet.
_PAGE_COLUMNS = (
    "id",
    "url",
    "site_id",
    "first_seen_at",
    "last_checked_at",
    "last_changed_at",
    "version_count",
    "current_version_id",
    "status",
    "url_key",
    "next_check_at",
    "gone_at",
    "etag",
    "last_modified",
    "body_sha256",
    "current_version",
)


def _current(page: dict[str, Any]) -> dict[str, Any] | None:
    """The id and number of the page's current version, or None before its first."""
    if not page["current_version_id"]:
        return None
    return {"id": page["current_version_id"], "version": page["current_version"]}


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
    from archive.extract import options_of
    from archive.reextract import extract_body

    # With the options the new article was made with: they are part of the extractor's name.
    options = options_of(article.extractor)
    again = extract_body(db, previous["body_sha256"], previous.get("canonical_url") or "", options)
    return again is not None and content_fingerprint(again) == content_hash


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


def _insert_capture(
    db: Database,
    capture: Capture,
    page_id: int | None,
    body_sha: str | None,
    outcome: str,
    version_id: int | None,
) -> int:
    row = {
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
    return int(db.execute(_INSERT_CAPTURE, row).lastrowid or 0)
