"""Schema of the archive. Every change to it is a new migration appended here, never an edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from sqlite_utils import Database

migrations = Migrations("archive")


@migrations()
def m001_initial(db: Database) -> None:
    """Sites, pages, versions, captures, raw bodies, crawls and full-text search."""
    db["sites"].create(
        {
            "id": int,
            "url": str,  # the start URL as given by the user
            "host": str,  # lower-case host[:port]; pages belong to the site of their host
            "name": str,  # site name from the pages' metadata, once known
            "added_at": str,
            "last_crawled_at": str,
        },
        pk="id",
        not_null={"url", "host", "added_at"},
    )
    db["sites"].create_index(["host"], unique=True)

    db["pages"].create(
        {
            "id": int,
            "url": str,  # canonical URL: the page's identity
            "site_id": int,
            "first_seen_at": str,
            "last_checked_at": str,
            "last_changed_at": str,
            "version_count": int,
            "current_version_id": int,
            "status": str,  # active | gone
        },
        pk="id",
        not_null={"url", "first_seen_at", "status"},
        defaults={"version_count": 0, "status": "active"},
        foreign_keys=[("site_id", "sites", "id")],
    )
    db["pages"].create_index(["url"], unique=True)
    db["pages"].create_index(["site_id"])
    db["pages"].create_index(["last_changed_at"])

    db["bodies"].create(
        {
            "sha256": str,  # hex digest of the raw body as received (after transfer decoding)
            "content_type": str,
            "encoding": str,  # the character encoding the page was decoded with
            "size": int,  # bytes before compression
            "compression": str,  # "zlib"
            "body": bytes,
        },
        pk="sha256",
        not_null={"body", "compression", "size"},
    )

    db["versions"].create(
        {
            "id": int,
            "page_id": int,
            "version": int,  # 1..n per page
            "captured_at": str,
            "content_hash": str,  # fingerprint of normalised title, byline and text
            "title": str,
            "author": str,
            "published_at": str,
            "modified_at": str,
            "description": str,
            "site_name": str,
            "language": str,
            "tags": str,  # JSON list
            "categories": str,  # JSON list
            "canonical_url": str,
            "image": str,
            "text": str,  # paragraphs separated by newlines
            "word_count": int,
            "words_added": int,
            "words_removed": int,
            "changed_fields": str,  # JSON list of the fields that differ from the previous version
            "body_sha256": str,
            "extractor": str,  # e.g. "trafilatura 2.3.1"
        },
        pk="id",
        not_null={"page_id", "version", "captured_at", "content_hash"},
        foreign_keys=[("page_id", "pages", "id"), ("body_sha256", "bodies", "sha256")],
    )
    db["versions"].create_index(["page_id", "version"], unique=True)
    db["versions"].create_index(["captured_at"])

    db["crawls"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "start_urls": str,  # JSON list
            "finish_reason": str,
            "stats": str,  # JSON object of the crawl's counters
        },
        pk="id",
        not_null={"started_at"},
    )

    db["captures"].create(
        {
            "id": int,
            "page_id": int,  # NULL when a page failed before it was ever archived
            "crawl_id": int,
            "fetched_at": str,
            "url": str,  # the URL requested
            "final_url": str,  # after redirects
            "http_status": int,
            "etag": str,
            "last_modified": str,
            "body_sha256": str,
            "bytes": int,
            "outcome": str,  # new | changed | unchanged | error
            "version_id": int,
            "error": str,
        },
        pk="id",
        not_null={"fetched_at", "url", "outcome"},
        foreign_keys=[
            ("page_id", "pages", "id"),
            ("crawl_id", "crawls", "id"),
            ("version_id", "versions", "id"),
            ("body_sha256", "bodies", "sha256"),
        ],
    )
    db["captures"].create_index(["page_id", "fetched_at"])
    db["captures"].create_index(["crawl_id"])

    db["pages"].add_foreign_key("current_version_id", "versions", "id")
    db["versions"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)

    db.create_view(
        "recent_changes",
        """
        select v.captured_at, p.url, v.title, v.version, v.words_added, v.words_removed,
               v.changed_fields, v.page_id, v.id as version_id
        from versions v join pages p on p.id = v.page_id
        where v.version > 1
        order by v.captured_at desc
        """,
    )


@migrations()
def m002_revisits_identity_deletions(db: Database) -> None:
    """Revisit schedule, validators, URL aliases and moves, gone pages, re-extraction log."""
    pages = db["pages"]
    pages.add_column("url_key", str)  # identity of the URL: see archive.urls.url_key
    pages.add_column("next_check_at", str)
    pages.add_column("gone_at", str)
    pages.add_column("etag", str)  # validators and body digest of the last successful fetch
    pages.add_column("last_modified", str)
    pages.add_column("body_sha256", str)
    from archive.urls import url_key

    for row in list(pages.rows):
        pages.update(row["id"], {"url_key": url_key(row["url"])})
    pages.create_index(["url_key"], unique=True)
    pages.create_index(["next_check_at"])

    sites = db["sites"]
    sites.add_column("discover_every", int)  # seconds between discovery runs (feeds, sitemaps)
    sites.add_column("next_discovery_at", str)
    sites.add_column("removed_at", str)  # no longer watched; its pages and history are kept

    db["versions"].add_column("silent_edit", int)

    db["page_urls"].create(
        {
            "url_key": str,  # see archive.urls.url_key
            "page_id": int,
            "url": str,  # as first seen
            "kind": str,  # alias | former (the page moved away from it by a permanent redirect)
            "first_seen_at": str,
        },
        pk="url_key",
        not_null={"page_id", "url", "kind"},
        foreign_keys=[("page_id", "pages", "id")],
    )
    db["page_urls"].create_index(["page_id"])

    db["page_events"].create(
        {
            "id": int,
            "page_id": int,
            "at": str,
            "event": str,  # gone | returned | moved
            "detail": str,  # e.g. the HTTP status, or "old URL → new URL"
            "capture_id": int,
        },
        pk="id",
        not_null={"page_id", "at", "event"},
        foreign_keys=[("page_id", "pages", "id"), ("capture_id", "captures", "id")],
    )
    db["page_events"].create_index(["page_id", "at"])

    db["reextractions"].create(
        {
            "id": int,
            "version_id": int,
            "reextracted_at": str,
            "extractor_before": str,
            "extractor_after": str,
            "content_hash_before": str,
            "content_hash_after": str,
            "fields_changed": str,  # JSON list of the version's fields the new extraction changed
            "note": str,
        },
        pk="id",
        not_null={"version_id", "reextracted_at"},
        foreign_keys=[("version_id", "versions", "id")],
    )
    db["reextractions"].create_index(["version_id"])
