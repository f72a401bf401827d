"""The archive's rows other than captures: sites, crawls, raw bodies, and reading pages back.

Captures and versions are written by ``archive.capture.record_capture``; what differs between two
versions is ``archive.revisions``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from archive.schedule import DEFAULT_DISCOVERY, add_seconds
from archive.urls import host_of, url_key

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from sqlite_utils import Database

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


def site_id(db: Database, url: str, now: str) -> int:
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
    digest: str | None = None,
) -> str:
    """Store a raw body once per distinct SHA-256, compressed; return the digest.

    Args:
        seen: The body is probably stored already (the page's last body): look for it before
            compressing it, rather than compressing it for an insert that would be ignored.
        digest: The body's SHA-256, when the caller has computed it already.
    """
    digest = digest or hashlib.sha256(body).hexdigest()
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


def row_as_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def page_row_by_key(db: Database, key: str) -> dict[str, Any] | None:
    """The page row for this ``url_key`` (its own, or an alias's) with ``current_version``."""
    cursor = db.execute(_PAGE_BY_KEY, {"key": key})
    page = row_as_dict(cursor, cursor.fetchone())
    if page is not None:
        del page["_rank"]
    return page


def get_page(db: Database, url: str) -> dict[str, Any] | None:
    """The ``pages`` row for exactly this URL, or None."""
    rows = list(db["pages"].rows_where("url = ?", [url], limit=1))
    return rows[0] if rows else None


def find_page_by_key(db: Database, key: str) -> dict[str, Any] | None:
    """The page whose URL, or one of its aliases and former URLs, has this ``url_key``."""
    page = page_row_by_key(db, key)
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
