"""Article extraction: trafilatura for the text, the page's own metadata for the rest.

Used by the crawler's extraction workers, and usable without Scrapy (re-extraction, notebooks).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import trafilatura
from trafilatura import bare_extraction
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from archive.models import Article
from archive.urls import is_http_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

EXTRACTOR = f"trafilatura {trafilatura.__version__}"

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


@dataclass(frozen=True)
class ExtractOptions:
    """How trafilatura is asked to extract (see ``EXTRACT_*`` settings)."""

    include_comments: bool = False  # reader comments are not the article (+0.007 F1 on the corpus)
    include_tables: bool = True
    favor_precision: bool = False
    favor_recall: bool = False
    fast: bool = False


@lru_cache(maxsize=1)
def _config() -> Any:
    # Loaded once per process; no extraction timeout of trafilatura's own (its SIGALRM would
    # fight ours) and no minimum sizes beyond the defaults.
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def extract_article(html: str, url: str, options: ExtractOptions | None = None) -> Article | None:
    """Extract the article from a decoded HTML page, or return None if there is none.

    Args:
        html: the page decoded to text (from the declared charset, BOM or ``<meta>``; never raw bytes).
        url: the page's URL, used to resolve relative links and as trafilatura's source.
        options: extraction settings; defaults to ``ExtractOptions()``.
    """
    options = options or ExtractOptions()
    tree = load_html(html)
    if tree is None:
        return None
    page_meta = read_page_metadata(tree)
    document = bare_extraction(
        tree,  # trafilatura copies a tree it is given, so the page is parsed only once
        url=url,
        with_metadata=True,
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision,
        favor_recall=options.favor_recall,
        fast=options.fast,
        deduplicate=False,  # deduplication makes output depend on earlier pages
        config=_config(),
    )
    if document is None or not (document.text or "").strip():
        return None
    return Article(
        # The publisher's own headline field beats <title>, which often carries the site's name.
        title=page_meta.get("title") or _clean(document.title),
        author=_clean(document.author) or page_meta.get("author"),
        published_at=page_meta.get("published_at") or _clean(document.date),
        modified_at=page_meta.get("modified_at"),
        description=_clean(document.description),
        site_name=_clean(document.sitename),
        language=_clean(document.language) or page_meta.get("language"),
        tags=_split_list(document.tags),
        categories=_split_list(document.categories),
        canonical_url=page_meta.get("canonical_url"),
        image=document.image if is_http_url(document.image) else None,
        text=document.text.strip(),
        extractor=EXTRACTOR,
    )


def read_page_metadata(tree: HtmlElement) -> dict[str, str]:
    """Dates, language and canonical URL as the page declares them (JSON-LD first, then meta).

    trafilatura gives the publication date as a day; the page often says the time too, and only
    the page says when it was last modified.
    """
    found: dict[str, str] = {}
    for item in _json_ld_items(tree):
        for key, field in (("datePublished", "published_at"), ("dateModified", "modified_at")):
            value = item.get(key)
            if isinstance(value, str) and field not in found:
                found[field] = value
        headline = item.get("headline")
        is_article = bool(_types(item) & ARTICLE_TYPES)
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
            value = _meta(tree, name)
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
    lang = tree.get("lang") or _meta(tree, "og:locale")
    if lang:
        found["language"] = lang.strip().replace("_", "-")
    canonical = tree.xpath('//head/link[@rel="canonical"]/@href')
    if canonical and is_http_url(canonical[0]):
        found["canonical_url"] = canonical[0].strip()
    author = _meta(tree, "author")
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


def _json_ld_items(tree: HtmlElement) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
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
    for item in _json_ld_items(tree):
        types |= _types(item)
    return types


def _types(item: dict[str, Any]) -> set[str]:
    value = item.get("@type")
    names = value if isinstance(value, list) else [value]
    return {name.rsplit("/", 1)[-1] for name in names if isinstance(name, str)}


def _meta(tree: HtmlElement, name: str) -> str | None:
    for attr in ("property", "name", "itemprop"):
        values = tree.xpath(f'//meta[@{attr}="{name}"]/@content')
        if values and values[0].strip():
            return str(values[0]).strip()
    return None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _split_list(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    parts = value if isinstance(value, list) else [value]
    seen: dict[str, None] = {}
    for part in parts:
        for piece in str(part).split(","):
            piece = piece.strip()
            if piece:
                seen.setdefault(piece, None)
    return list(seen)
