"""Watched sites and what is due: the read side of scheduling, and the site list.

The crawler asks this module which sites are due for discovery, which pages are due for a
revisit, and what it last saw of a page (validators and body digest, for conditional requests).
Every lookup is an indexed query of a few rows: nothing here loads the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.schedule import DEFAULT_DISCOVERY
from archive.store import ensure_site, find_page_by_key, utc_now
from archive.urls import host_of, url_key

if TYPE_CHECKING:
    from sqlite_utils import Database


@dataclass(frozen=True)
class PageState:
    """What the archive last saw of a page."""

    page_id: int
    url: str
    status: str
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    next_check_at: str | None
    version_count: int


def page_state(db: Database, url: str) -> PageState | None:
    """The archive's state for the page ``url`` names (by its identity key), or None."""
    page = find_page_by_key(db, url_key(url))
    if page is None:
        return None
    return PageState(
        page_id=page["id"],
        url=page["url"],
        status=page["status"],
        etag=page["etag"],
        last_modified=page["last_modified"],
        body_sha256=page["body_sha256"],
        next_check_at=page["next_check_at"],
        version_count=page["version_count"] or 0,
    )


def add_site(db: Database, url: str, *, every: int = DEFAULT_DISCOVERY) -> dict[str, Any]:
    """Watch a site: discover its articles every ``every`` seconds (first time: at once)."""
    with db.atomic():
        site_id = ensure_site(db, url)
        db["sites"].update(site_id, {"discover_every": every, "removed_at": None})
        return dict(db["sites"].get(site_id))


def remove_site(db: Database, url: str) -> dict[str, Any] | None:
    """Stop watching a site. Its pages and their history stay in the archive."""
    row = db.execute("select id from sites where host = ?", [host_of(url)]).fetchone()
    if row is None:
        return None
    db["sites"].update(row[0], {"removed_at": utc_now()})
    return dict(db["sites"].get(row[0]))


def list_sites(db: Database, *, include_removed: bool = False) -> list[dict[str, Any]]:
    """Watched sites with their page counts, oldest first."""
    where = "" if include_removed else "where s.removed_at is null"
    sql = f"""
        select s.*, count(p.id) as pages, coalesce(sum(p.version_count > 1), 0) as pages_revised
        from sites s left join pages p on p.site_id = s.id
        {where}
        group by s.id order by s.id
    """  # noqa: S608 - the only variable part is one of two constant strings
    return [dict(row) for row in db.query(sql)]


def due_sites(db: Database, now: str) -> list[dict[str, Any]]:
    """Watched sites whose next discovery time has come (or that were never discovered)."""
    return list(
        db.query(
            "select * from sites where removed_at is null"
            " and (next_discovery_at is null or next_discovery_at <= ?) order by id",
            [now],
        )
    )


def due_pages(db: Database, now: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Pages of watched sites whose next check time has come, most overdue first."""
    sql = (
        "select p.id, p.url, p.next_check_at, s.url as site_url from pages p"
        " join sites s on s.id = p.site_id"
        " where s.removed_at is null and p.next_check_at <= ? order by p.next_check_at"
    )
    params: list[Any] = [now]
    if limit:
        sql += " limit ?"
        params.append(limit)
    return list(db.query(sql, params))
