"""Article extraction: trafilatura for the text, the page's own metadata for the rest.

Also what change detection compares (``Article.detection_text``): the headlines and bylines the page
declares and the article as laid out in the page, furniture left out (see ``archive.detect``).
Used by the crawler's extraction workers, and usable without Scrapy (re-extraction, notebooks).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import trafilatura
from trafilatura import bare_extraction
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from archive.characters import has_fragile_characters, restore_characters
from archive.detect import collapse_whitespace, read_detection_text
from archive.models import Article
from archive.pagemeta import read_page_metadata
from archive.urls import is_http_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

DETECTION_VERSION = 2
"""Bump when what this module or ``archive.normalize`` feeds the fingerprint changes (1 hashed the
title, byline and text alone): a new ``EXTRACTOR`` makes the archive re-extract a page's current
version before comparing, so that our upgrade never looks like the publisher's edit."""
EXTRACTOR = f"trafilatura {trafilatura.__version__} (detection {DETECTION_VERSION})"


# </body> or </html> with more markup after it: libxml2 (2.14) drops everything after </html>,
# while browsers show it, so these end tags are removed before parsing.
_EARLY_END_TAGS = re.compile(
    r"</(?:body|html)\s*>(?=[^<]*<(?!/(?:body|html)\b)[a-zA-Z])", re.IGNORECASE
)


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
    tree = parse_page(html)
    return None if tree is None else extract_from_tree(tree, html, url, options)


def parse_page(html: str) -> HtmlElement | None:
    """Parse a decoded page the way extraction needs it (whitespace collapsed as a browser does).

    The tree can be read (``scraper.discovery.classify_page``) before ``extract_from_tree``.
    """
    tree = load_html(_EARLY_END_TAGS.sub("", html))
    if tree is not None:
        collapse_whitespace(tree)
    return tree


def extract_from_tree(
    tree: HtmlElement, html: str, url: str, options: ExtractOptions | None = None
) -> Article | None:
    """``extract_article`` on a tree from ``parse_page(html)``: one parse for every reader."""
    options = options or ExtractOptions()
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
    text = document.text.strip()
    title = page_meta.get("title") or _clean(document.title)
    if has_fragile_characters(html):
        title, *lines = restore_characters(tree, [title or "", *text.splitlines()])
        text = "\n".join(lines)
    return Article(
        # The publisher's own headline field beats <title>, which often carries the site's name.
        title=title or None,
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
        text=text,
        extractor=EXTRACTOR,
        detection_text=read_detection_text(tree, text),
    )


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
