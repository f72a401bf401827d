"""Writing captures and versions, and reading them back.

``record_capture`` is the one way rows get written: a fetch, its raw body, and — when the article
changed — a new version, all in one transaction (or one savepoint of a batch), so a crash never
leaves half an item behind. It runs once per page fetched, so it speaks plain SQL: no schema
lookups, no row read back after it was written.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from archive.diff import word_changes
from archive.models import Article, Capture, CaptureResult
from archive.normalize import content_fingerprint, normalize_text, word_count
from archive.schedule import DEFAULT_DISCOVERY, add_seconds, revisit_interval
from archive.urls import host_of, url_key

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

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

BODY_COMPRESSION = "zstd"
"""How new bodies are compressed: zstd level 3 is as small as zlib level 6 on article pages
and about six times faster. Archives written before keep their zlib rows, which still read."""
_ZSTD_LEVEL = 3
_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zstd": zstd.decompress,
    "zlib": zlib.decompress,
}

# Site ids by host, per open archive: every new page needs one. Only rows known to exist are
# cached (a site added by another connection is simply looked up), and a failed write forgets
# them all, since its rollback may have undone a site it added.
_SITE_IDS: WeakKeyDictionary[Database, dict[str, int]] = WeakKeyDictionary()


def utc_now() -> str:
    """The current time as ISO 8601 UTC with seconds, e.g. ``2026-11-29T16:18:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_site(db: Database, url: str, *, now: str | None = None) -> int:
    """The id of the site ``url`` belongs to, adding it if it is new."""
    host = host_of(url)
    row = db.execute("select id from sites where host = ?", [host]).fetchone()
    if row:
        return int(row[0])
    cursor = db.execute(
        "insert into sites (url, host, added_at) values (?, ?, ?)", [url, host, now or utc_now()]
    )
    return int(cursor.lastrowid or 0)


def _site_id(db: Database, url: str, now: str) -> int:
    """``ensure_site``, remembered per archive and host."""
    sites = _SITE_IDS.setdefault(db, {})
    host = host_of(url)
    if host not in sites:
        sites[host] = ensure_site(db, url, now=now)
    return sites[host]


def forget_cached_ids(db: Database) -> None:
    """Forget the ids cached for ``db``: call it after rolling back a transaction that wrote."""
    _SITE_IDS.pop(db, None)


def commit_batch(db: Database) -> None:
    """Commit the open transaction (a batch of captures); if that fails, roll it back."""
    try:
        db.commit()
    except BaseException:
        db.rollback()
        forget_cached_ids(db)
        raise


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


def store_body(
    db: Database,
    body: bytes,
    content_type: str | None,
    encoding: str | None,
    *,
    seen: bool = False,
) -> str:
    """Store a raw body once per distinct SHA-256, compressed; return the digest.

    Args:
        seen: The body is probably stored already (the page's last body): look for it before
            compressing it, rather than compressing it for an insert that would be ignored.
    """
    digest = hashlib.sha256(body).hexdigest()
    if seen and db.execute("select 1 from bodies where sha256 = ?", [digest]).fetchone():
        return digest
    db.execute(
        "insert or ignore into bodies (sha256, content_type, encoding, size, compression, body)"
        " values (?, ?, ?, ?, ?, ?)",
        [
            digest,
            content_type,
            encoding,
            len(body),
            BODY_COMPRESSION,
            zstd.compress(body, _ZSTD_LEVEL),
        ],
    )
    return digest


def read_body(db: Database, sha256: str) -> bytes | None:
    """The raw body with this digest, decompressed, or None if it is not stored."""
    row = db.execute("select compression, body from bodies where sha256 = ?", [sha256]).fetchone()
    if row is None:
        return None
    compression, blob = row
    decompress = _DECOMPRESSORS.get(compression)
    if decompress is None:
        raise ValueError(f"unknown body compression {compression!r} (body {sha256})")
    return decompress(blob)


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

# The hot path is plain SQL: sqlite3 keeps these statements prepared, and no schema is looked up.
_PAGE_BY_KEY = """
select p.*, v.version as current_version, 0 as _rank
from pages p left join versions v on v.id = p.current_version_id
where p.url_key = :key
union all
select p.*, v.version, 1
from page_urls u join pages p on p.id = u.page_id
  left join versions v on v.id = p.current_version_id
where u.url_key = :key
order by _rank
limit 1
"""
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
        page = _page_by_key(self.db, self._key(capture.page_url))
        if page is None and self._key(capture.url) != self._key(capture.page_url):
            page = _page_by_key(self.db, self._key(capture.url))
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
            site_id=_site_id(self.db, capture.site_url or capture.page_url, self.now),
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
        return _as_dict(cursor, cursor.fetchone())

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


def _as_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def _page_by_key(db: Database, key: str) -> dict[str, Any] | None:
    """The page row for this ``url_key`` (its own, or an alias's) with ``current_version``."""
    cursor = db.execute(_PAGE_BY_KEY, {"key": key})
    page = _as_dict(cursor, cursor.fetchone())
    if page is not None:
        del page["_rank"]
    return page


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


def get_page(db: Database, url: str) -> dict[str, Any] | None:
    """The ``pages`` row for exactly this URL, or None."""
    rows = list(db["pages"].rows_where("url = ?", [url], limit=1))
    return rows[0] if rows else None


def find_page_by_key(db: Database, key: str) -> dict[str, Any] | None:
    """The page whose URL, or one of its aliases and former URLs, has this ``url_key``."""
    page = _page_by_key(db, key)
    if page is not None:
        del page["current_version"]
    return page


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
