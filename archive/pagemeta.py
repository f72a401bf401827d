"""What a page declares about itself: JSON-LD, ``<meta>`` tags, ``<html lang>``, ``rel=canonical``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lxml.etree import XPath

from archive.urls import is_http_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# schema.org types of an article (JSON-LD ``@type``).
ARTICLE_TYPES = {
    "Article",
    "AdvertiserContentArticle",
    "AnalysisNewsArticle",
    "BackgroundNewsArticle",
    "BlogPosting",
    "LiveBlogPosting",
    "NewsArticle",
    "OpinionNewsArticle",
    "Report",
    "ReportageNewsArticle",
    "ReviewNewsArticle",
    "SatiricalArticle",
    "ScholarlyArticle",
    "TechArticle",
}

_JSON_LD = XPath('//script[@type="application/ld+json"]/text()')
_METAS = XPath("//meta[@content]")
_CANONICAL = XPath('//head/link[@rel="canonical"]/@href')
_META_KEYS = ("property", "name", "itemprop")


@dataclass(frozen=True)
class Declarations:
    """What a page declares in JSON-LD and ``<meta>`` tags, read once for all its readers."""

    json_ld: list[dict[str, Any]]
    """Every JSON-LD object of the page (``json_ld_items``)."""
    metas: dict[tuple[str, str], str]
    """The first ``content`` of each kind of ``<meta>`` (``meta_tags``)."""

    @classmethod
    def read(cls, tree: HtmlElement) -> Declarations:
        """Read them from the page."""
        return cls(json_ld_items(tree), meta_tags(tree))


def read_page_metadata(tree: HtmlElement, declared: Declarations | None = None) -> dict[str, str]:
    """Dates, language and canonical URL as the page declares them (JSON-LD first, then meta).

    trafilatura gives the publication date as a day; the page often says the time too, and only
    the page says when it was last modified.

    Args:
        tree: the page.
        declared: ``Declarations.read(tree)``, when another reader needs them too.
    """
    declared = declared or Declarations.read(tree)
    found: dict[str, str] = {}
    items, tags = declared.json_ld, declared.metas
    for item in items:
        for key, field in (("datePublished", "published_at"), ("dateModified", "modified_at")):
            value = item.get(key)
            if isinstance(value, str) and field not in found:
                found[field] = value
        headline = item.get("headline")
        is_article = bool(schema_types(item) & ARTICLE_TYPES)
        if is_article and "title" not in found and isinstance(headline, str) and headline.strip():
            found["title"] = " ".join(headline.split())
    metas = {
        "published_at": (
            "article:published_time",
            "og:published_time",
            "datePublished",
        ),
        "modified_at": ("article:modified_time", "og:updated_time", "dateModified"),
    }
    for field, names in metas.items():
        if field in found:
            continue
        for name in names:
            value = meta_content(tree, name, tags)
            if value:
                found[field] = value
                break
    for field in ("published_at", "modified_at"):
        if field in found:
            normalised = to_utc_iso(found[field])
            if normalised:
                found[field] = normalised
            else:
                del found[field]
    lang = tree.get("lang") or meta_content(tree, "og:locale", tags)
    if lang:
        found["language"] = lang.strip().replace("_", "-")
    canonical = _CANONICAL(tree)
    if canonical and is_http_url(canonical[0]):
        found["canonical_url"] = canonical[0].strip()
    articles = [item for item in items if schema_types(item) & ARTICLE_TYPES]
    author = meta_content(tree, "author", tags) or "; ".join(json_ld_authors(articles))
    if author:
        found["author"] = author
    return found


def to_utc_iso(value: str) -> str | None:
    """A date or timestamp as ISO 8601: ``YYYY-MM-DD`` for a day, UTC ``…Z`` for a time.

    >>> to_utc_iso("2026-07-02T09:30:00+02:00"), to_utc_iso("2026-07-02"), to_utc_iso("soon")
    ('2026-07-02T07:30:00Z', '2026-07-02', None)
    """
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) <= 10:
        return parsed.date().isoformat()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # a bare time is most often already UTC
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_ld_items(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members included; broken JSON-LD is skipped."""
    items: list[dict[str, Any]] = []
    for script in _JSON_LD(tree):
        try:
            data = json.loads(script)
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the page's other metadata still counts
        stack = data if isinstance(data, list) else [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, dict):
                items.append(node)
                if isinstance(node.get("@graph"), list):
                    stack.extend(node["@graph"])
    return items


def json_ld_types(tree: HtmlElement) -> set[str]:
    """Every schema.org ``@type`` named by the page's JSON-LD."""
    types: set[str] = set()
    for item in json_ld_items(tree):
        types |= schema_types(item)
    return types


def schema_types(item: dict[str, Any]) -> set[str]:
    """The schema.org type names of one JSON-LD object."""
    value = item.get("@type")
    names = value if isinstance(value, list) else [value]
    return {name.rsplit("/", 1)[-1] for name in names if isinstance(name, str)}


def meta_content(
    tree: HtmlElement, name: str, tags: dict[tuple[str, str], str] | None = None
) -> str | None:
    """The ``content`` of the first ``<meta>`` with this property, else name, else itemprop.

    Args:
        tree: the page.
        name: the property, name or itemprop, e.g. ``og:title``.
        tags: ``meta_tags(tree)``, to read the page once for several names.

    Returns:
        The content, stripped; None when the first such ``<meta>`` of each kind has none.
    """
    tags = meta_tags(tree) if tags is None else tags
    for key in _META_KEYS:
        value = tags.get((key, name), "").strip()
        if value:
            return value
    return None


def meta_tags(tree: HtmlElement) -> dict[tuple[str, str], str]:
    """The ``content`` of the first ``<meta>`` by ``(attribute, value)``, in one pass over the page.

    The attributes are property, name and itemprop.

    >>> from lxml.html import fromstring
    >>> meta_tags(fromstring('<meta name="author" content="Ann"><meta name="author" content="Bo">'))
    {('name', 'author'): 'Ann'}
    """
    tags: dict[tuple[str, str], str] = {}
    for meta in _METAS(tree):
        content = meta.get("content")
        for key in _META_KEYS:
            value = meta.get(key)
            if value is not None:
                tags.setdefault((key, value), content)
    return tags


def json_ld_authors(articles: list[dict[str, Any]]) -> list[str]:
    """Author names of the page's JSON-LD articles (a person's or an organisation's)."""
    names: list[str] = []
    for item in articles:
        authors = item.get("author")
        for author in authors if isinstance(authors, list) else [authors]:
            name = author.get("name") if isinstance(author, dict) else author
            if isinstance(name, str) and name.strip():
                names.append(" ".join(name.split()))
    return names
