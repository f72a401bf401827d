"""What the spider hands to the pipelines: one fetched article page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archive.models import Article


@dataclass
class PageItem:
    """One fetch of a page the spider judged to be an article."""

    url: str
    """The URL requested."""
    page_url: str
    """The page's identity: its canonical URL (``rel=canonical`` on the same site, else the final URL), normalised."""
    site_url: str
    """Start URL of the site it was found on."""
    fetched_at: str
    """ISO 8601 UTC."""
    status: int
    """HTTP status of the final response."""
    final_url: str = ""
    """URL after redirects."""
    body: bytes = b""
    """Raw body as received (after content decoding)."""
    encoding: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    discovered_via: str = "link"
    """``feed``, ``sitemap``, ``link`` or ``start``."""
    error: str | None = None
    """Why the fetch failed, when it did."""
    article: Article | None = None
    """Extracted by the spider's workers (``scraper.workers``); None when nothing could be."""
    content_hash: str | None = None
    """Set by VersioningPipeline."""
    redirect_statuses: list[int] = field(default_factory=list)
    """Statuses of the redirects followed to get here (301/308: the article moved)."""
    redirected_home: bool = False
    """An archived article's URL now redirects to the home page."""
    body_unchanged: bool = False
    """The body is byte-identical to the last one archived: no extraction needed."""
    body_sha256: str | None = None
    """The body's SHA-256, when the spider computed it (to compare with the last one)."""
    extra: dict[str, str] = field(default_factory=dict)
