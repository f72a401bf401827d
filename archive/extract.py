"""Article extraction: trafilatura for the text, the page's own metadata for the rest.

Also what change detection compares (``Article.detection_text``): the headlines and bylines the page
declares and the article as laid out in the page, furniture left out (see ``archive.detect``).
Used by the crawler's extraction workers, and usable without Scrapy (re-extraction, notebooks).
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import fields
from functools import lru_cache
from typing import Any

import trafilatura
from lxml.etree import ElementDefaultClassLookup, LxmlError
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)
from trafilatura import bare_extraction
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
    find_date,
)
from trafilatura.settings import Document, set_date_params, use_config
from trafilatura.utils import is_dubious_html, repair_faulty_html

from archive.characters import has_fragile_characters, restore_characters
from archive.detect import collapse_whitespace, read_detection_text
from archive.models import Article, ExtractOptions
from archive.pagemeta import Declarations, read_page_metadata
from archive.urls import is_http_url

logger = logging.getLogger(__name__)

DETECTION_VERSION = 2
"""Bump when what this module or ``archive.normalize`` feeds the fingerprint changes (1 hashed the
title, byline and text alone): a new ``EXTRACTOR`` makes the archive re-extract a page's current
version before comparing, so that our upgrade never looks like the publisher's edit."""


# </body> or </html> with more markup after it: libxml2 (2.14) drops everything after </html>,
# while browsers show it, so these end tags are removed before parsing.
_EARLY_END_TAGS = re.compile(
    r"</(?:body|html)\s*>(?=[^<]*<(?!/(?:body|html)\b)[a-zA-Z])", re.IGNORECASE
)

# trafilatura's parser settings, with the element classes looked up in C: lxml.html's own lookup
# calls back into Python for every element wrapped, in our code and trafilatura's (about a tenth
# of the CPU per page), only to give <form>, <input>… classes that nothing here uses.
_PARSER = HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    ElementDefaultClassLookup(
        element=HtmlElement,
        comment=HtmlComment,
        pi=HtmlProcessingInstruction,
        entity=HtmlEntity,
    )
)


_FLAGS = ("fast", "favor_precision", "favor_recall", "include_comments")


def extractor_name(options: ExtractOptions) -> str:
    """What ``Article.extractor`` says: trafilatura's version, our detection scheme, the options.

    The options that change the text are named, so that switching one (``EXTRACT_FAST``…) makes
    the archive re-extract the current version before comparing rather than see an edit.

    >>> extractor_name(ExtractOptions()).split(" ", 2)[2]
    '(detection 2, fast)'
    >>> extractor_name(ExtractOptions(fast=False, include_tables=False)).split(" ", 2)[2]
    '(detection 2, no tables)'
    """
    named = [f"detection {DETECTION_VERSION}"]
    named += [flag for flag in _FLAGS if getattr(options, flag)]
    named += [] if options.include_tables else ["no tables"]
    return f"trafilatura {trafilatura.__version__} ({', '.join(named)})"


EXTRACTOR = extractor_name(ExtractOptions())
"""The extractor of the default options; ``fast=False`` gives the name that all options had
before the options were named, ``trafilatura 2.3.1 (detection 2)``."""


def options_of(extractor: str) -> ExtractOptions | None:
    """The options that ``extractor_name`` gives this name, None for a name it never gives.

    To re-extract an older version as a new one was: with the options named in its extractor.

    >>> options_of(extractor_name(ExtractOptions(favor_precision=True))).favor_precision
    True
    >>> options_of("trafilatura 1.0.0") is None
    True
    """
    for values in itertools.product((False, True), repeat=len(fields(ExtractOptions))):
        options = ExtractOptions(*values)
        if extractor_name(options) == extractor:
            return options
    return None


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
    tree = _load_html(_EARLY_END_TAGS.sub("", html))
    if tree is not None:
        collapse_whitespace(tree)
    return tree


def _load_html(html: str) -> HtmlElement | None:
    """``trafilatura.utils.load_html`` of a decoded page, parsed with ``_PARSER``."""
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree, tried_bytes = None, False
    try:
        tree = fromstring(html, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, tried_bytes = _load_bytes(html), True
    except LxmlError:  # "Document is empty" and the like: try bytes, as trafilatura does
        pass
    if (tree is None or len(tree) < 1) and not tried_bytes:
        tree = _load_bytes(html)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML at all
    return tree


def _load_bytes(html: str) -> HtmlElement | None:
    try:
        return fromstring(html.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (ValueError, LxmlError):  # a page lxml cannot parse has no article
        return None


def extract_from_tree(
    tree: HtmlElement, html: str, url: str, options: ExtractOptions | None = None
) -> Article | None:
    """``extract_article`` on a tree from ``parse_page(html)``: one parse for every reader."""
    options = options or ExtractOptions()
    document = bare_extraction(
        tree,  # trafilatura copies a tree it is given, so the page is parsed only once
        url=url,
        with_metadata=False,  # read below, once there is an article, and only what is used
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision,
        favor_recall=options.favor_recall,
        fast=options.fast,
        deduplicate=False,  # deduplication makes output depend on earlier pages
        config=_config(),
    )
    text = (document.text or "").strip() if isinstance(document, Document) else ""
    if not text:
        return None  # no article
    declared = Declarations.read(tree)  # for both readers below
    page_meta = read_page_metadata(tree, declared)
    try:
        metadata = _trafilatura_metadata(tree, url, with_date="published_at" not in page_meta)
    except (TypeError, ValueError):  # what makes bare_extraction(with_metadata=True) give up
        logger.warning("trafilatura could not read the metadata of %s", url)
        return None
    title = page_meta.get("title") or _clean(metadata.title)
    if has_fragile_characters(html):
        title, *lines = restore_characters(tree, [title or "", *text.splitlines()])
        text = "\n".join(lines)
    return Article(
        # The publisher's own headline field beats <title>, which often carries the site's name.
        title=title or None,
        author=_clean(metadata.author) or page_meta.get("author"),
        published_at=page_meta.get("published_at") or _clean(metadata.date),
        modified_at=page_meta.get("modified_at"),
        description=_clean(metadata.description),
        site_name=_clean(metadata.sitename),
        language=_clean(metadata.language) or page_meta.get("language"),
        tags=_split_list(metadata.tags),
        categories=_split_list(metadata.categories),
        canonical_url=page_meta.get("canonical_url"),
        image=metadata.image if is_http_url(metadata.image) else None,
        text=text,
        extractor=extractor_name(options),
        detection_text=read_detection_text(tree, text, declared),
    )


def _trafilatura_metadata(tree: HtmlElement, url: str, with_date: bool) -> Document:
    """trafilatura's ``extract_metadata`` (2.3.1), less what we never read: the licence, the date
    when the page declares its own, the hostname. It reads ``tree`` without changing it.

    ``test_metadata_is_trafilaturas`` checks on the corpus that the rest stays the same.
    """
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as error:  # noqa: BLE001 -- as trafilatura: its JSON-LD reader has bugs
        logger.debug("trafilatura's JSON-LD reader failed: %s", error)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    if with_date:
        date_config = set_date_params(_config().getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
        metadata.date = find_date(tree, **date_config, url=metadata.url)
    if not metadata.sitename:
        metadata.sitename = extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")  # a Twitter handle
        if (
            metadata.sitename
            and "." not in metadata.sitename
            and not metadata.sitename[0].isupper()
        ):
            metadata.sitename = metadata.sitename.title()
    elif metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.categories = metadata.categories or extract_catstags("category", tree)
    metadata.tags = metadata.tags or extract_catstags("tag", tree)
    metadata.clean_and_trim()
    return metadata


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
