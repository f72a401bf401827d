"""The records that flow into the archive. Plain dataclasses: no Scrapy, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Article:
    """What extraction found in one page."""

    title: str | None = None
    """Headline as published."""
    author: str | None = None
    """Byline, names separated by "; "."""
    published_at: str | None = None
    """Publication date, ISO 8601 (a date, or a UTC timestamp when the page gives the time)."""
    modified_at: str | None = None
    """Last modification date the page declares (JSON-LD ``dateModified``, ``article:modified_time``)."""
    description: str | None = None
    site_name: str | None = None
    language: str | None = None
    """BCP 47 tag such as ``en`` or ``pt-BR``."""
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    image: str | None = None
    text: str = ""
    """Article text, one paragraph per line."""
    extractor: str = ""
    """Name and version of the extractor, e.g. ``trafilatura 2.3.1``."""
    detection_text: str = ""
    """For change detection only, never shown or diffed: the headlines and bylines the page
    declares (metadata, ``<h1>``, ``rel=author``) and the prose of its article region, one item per
    line (see ``archive.detect.read_detection_text``). Empty when unknown."""


@dataclass
class Capture:
    """One fetch of one article URL, with what came of it."""

    url: str
    """The URL requested."""
    page_url: str
    """The page's identity: its canonical URL."""
    fetched_at: str
    """ISO 8601 UTC, e.g. ``2026-11-29T16:18:00Z``."""
    final_url: str | None = None
    """The URL after redirects."""
    site_url: str | None = None
    """Start URL of the site this page was found on."""
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body: bytes | None = None
    """Raw response body (after transfer decoding); stored compressed, once per sha256."""
    content_type: str | None = None
    encoding: str | None = None
    article: Article | None = None
    """None when the fetch failed or extraction found no article."""
    content_hash: str | None = None
    """Fingerprint of the normalised title, byline and text (see ``archive.normalize``)."""
    error: str | None = None
    """Why the fetch or extraction failed, if it did."""
    crawl_id: int | None = None
    redirect_statuses: list[int] = field(default_factory=list)
    """HTTP statuses of the redirects followed, in order (301/308 are permanent)."""
    redirected_home: bool = False
    """The article URL now redirects to the site's home page (the usual way of deleting a post)."""
    body_unchanged: bool = False
    """The body's SHA-256 equals the page's last one: extraction was skipped."""
    body_sha256: str | None = None
    """The body's SHA-256 if the crawler computed it already; computed on storing otherwise."""


@dataclass
class CaptureResult:
    """What the archive did with a capture."""

    outcome: str
    """``new``, ``changed``, ``unchanged``, ``not_modified``, ``gone`` or ``error``."""
    capture_id: int
    page_id: int | None = None
    version_id: int | None = None
    version: int | None = None
    changed_fields: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    """Page events this capture caused: ``gone``, ``returned``, ``moved``."""


@dataclass(frozen=True)
class ExtractOptions:
    """How trafilatura is asked to extract (see ``EXTRACT_*`` settings)."""

    include_comments: bool = False  # reader comments are not the article (+0.007 F1 on the corpus)
    include_tables: bool = True
    favor_precision: bool = False
    favor_recall: bool = False
    fast: bool = True  # no fallback extractors: 13% less CPU per page, F1 0.9639 (0.9632 without)
