"""Article extraction: trafilatura for the text, the page's own metadata for the rest.

Also what change detection compares (``Article.detection_text``): the headlines and bylines the page
declares and the article as laid out in the page, furniture left out (see ``read_detection_text``).
Used by the crawler's extraction workers, and usable without Scrapy (re-extraction, notebooks).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import trafilatura
from trafilatura import bare_extraction
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from archive.models import Article
from archive.normalize import strip_volatile
from archive.urls import is_http_url

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

DETECTION_VERSION = 2
"""Bump when what this module or ``archive.normalize`` feeds the fingerprint changes (1 hashed the
title, byline and text alone): a new ``EXTRACTOR`` makes the archive re-extract a page's current
version before comparing, so that our upgrade never looks like the publisher's edit."""
EXTRACTOR = f"trafilatura {trafilatura.__version__} (detection {DETECTION_VERSION})"

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
    collapse_whitespace(tree)
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
        text=text,
        extractor=EXTRACTOR,
        detection_text=read_detection_text(tree, text),
    )


def read_page_metadata(tree: HtmlElement) -> dict[str, str]:
    """Dates, language and canonical URL as the page declares them (JSON-LD first, then meta).

    trafilatura gives the publication date as a day; the page often says the time too, and only
    the page says when it was last modified.
    """
    found: dict[str, str] = {}
    items = _json_ld_items(tree)
    for item in items:
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
    articles = [item for item in items if _types(item) & ARTICLE_TYPES]
    author = _meta(tree, "author") or "; ".join(_json_ld_authors(articles))
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


# --- change detection -------------------------------------------------------------------------
#
# trafilatura's text leaves out page furniture, but also some paragraphs of the article (embedded
# posts, chunks of a body split by ads), and its byline is often empty. So change detection
# compares more than the text: the headlines and bylines the page declares, and the article as
# laid out in the page, i.e. trafilatura's paragraphs in their element, with the prose around them
# that trafilatura left out, and without the furniture (ads, related links) it let in.

_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # what HTML collapses; not \s: a no-break space stays
# Where whitespace is kept as is (or is not text at all: no need to spend time there).
_KEEP_SPACE = frozenset(
    {"pre", "textarea", "code", "listing", "plaintext", "xmp", "script", "style", "template"}
)
# Elements whose text is never article prose.
_FURNITURE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "form", "iframe", "button",
     "select", "svg", "footer", "time", "object", "embed", "textarea", "label", "dialog"}
)  # fmt: skip
# Class or id words of furniture: related links, ads, promos, comments, sidebars… Share bars and
# social embeds are left in: the first are short lines (dropped anyway), the second are content;
# so are <aside>s (pull quotes, fact boxes) unless their names say otherwise.
_FURNITURE_NAMES = re.compile(
    r"related|recommend|advert|adsbygoogle|sponsor|promo|newsletter|subscri|signup|comment"
    r"|sidebar|popular|trending|most-?read|read-?next|outbrain|taboola|breadcrumb|cookie"
    r"|consent|paywall|modal|popup|widget|(?<![a-z])(?:ads?|dfp|gpt|nav|menu|tags?)(?![a-z])",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    {"address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
     "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre",
     "section", "summary", "table", "td", "th", "tr", "ul"}
)  # fmt: skip
_TEXT_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td", "dd", "div")
_TOKEN = re.compile(r"\w+")
REGION_MIN_WORDS = 5
"""Lines trafilatura left out count only from this many words: shorter ones are labels, buttons."""


def collapse_whitespace(tree: HtmlElement) -> None:
    """Collapse runs of HTML whitespace to one space, as a browser renders them (not in ``<pre>``).

    trafilatura keeps the source's line breaks inside some elements, so a page re-flowed by its
    CMS would otherwise look edited.

    >>> from lxml.html import fromstring, tostring
    >>> tree = fromstring("<div><p>one\\n   two</p><pre>a\\n  b</pre></div>")
    >>> collapse_whitespace(tree); tostring(tree)
    b'<div><p>one two</p><pre>a\\n  b</pre></div>'
    """
    stack = [tree]
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str) or element.tag in _KEEP_SPACE:
            continue
        if element.text:
            element.text = _HTML_SPACE.sub(" ", element.text)
        for child in element:
            if child.tail:
                child.tail = _HTML_SPACE.sub(" ", child.tail)
            stack.append(child)


def read_detection_text(tree: HtmlElement, text: str) -> str:
    """What change detection compares, one item per line: headlines, bylines, then the article.

    ``headline:`` lines come from JSON-LD ``headline``, ``og:``/``twitter:title``, ``<title>`` and
    ``<h1>``; ``byline:`` lines from JSON-LD ``author``, author ``<meta>``, ``rel=author``,
    ``itemprop=author`` and byline elements; then the article's lines (``_article_lines``).

    Args:
        tree: the page, as parsed for extraction.
        text: trafilatura's text of it, one paragraph per line.
    """
    layout = _Layout(tree, text)
    articles = [item for item in _json_ld_items(tree) if _types(item) & ARTICLE_TYPES]
    lines = [f"headline: {value}" for value in _declared_headlines(tree, articles, layout)]
    lines += [f"byline: {value}" for value in _declared_bylines(tree, articles, layout)]
    lines += _article_lines(layout)
    return "\n".join(lines)


def _key(text: str) -> str:
    return " ".join(_TOKEN.findall(text))


class _Layout:
    """Where the paragraphs of trafilatura's text sit in the page, and what is furniture."""

    def __init__(self, tree: HtmlElement, text: str) -> None:
        self.lines = [line for line in text.splitlines() if line.strip()]
        self.keys = keys = {_key(line) for line in self.lines}
        longest = max(map(len, self.lines), default=0) + 20  # room for the markup's spacing
        self.kept: dict[HtmlElement, int] = {}  # element -> length of the line it holds
        for element in tree.iter(_TEXT_BLOCKS):
            content = element.text_content()
            if len(content) > longest:
                continue  # a container of several lines
            key = _key(content)
            if key in keys and key.count(" ") >= 3:  # 4+ words: short lines are ambiguous
                self.kept[element] = len(key)
        for element in list(self.kept):  # a <div> around a <p> holds the same line: once
            for ancestor in element.iterancestors():
                self.kept.pop(ancestor, None)
        self.weights: dict[HtmlElement, int] = {}  # element -> length of the lines it holds
        for element, weight in self.kept.items():
            for ancestor in (element, *element.iterancestors()):
                self.weights[ancestor] = self.weights.get(ancestor, 0) + weight
        self.total = sum(self.kept.values())
        # Furniture names that cover much of the text (a "widget" per paragraph) are not furniture.
        self.names_trusted = True
        misplaced = sum(
            weight
            for element, weight in self.kept.items()
            if any(map(self._is_furniture, (element, *element.iterancestors())))
        )
        self.names_trusted = misplaced <= 0.3 * self.total
        self._furniture: dict[HtmlElement, bool] = {}

    def is_furniture(self, element: HtmlElement) -> bool:
        """A furniture tag or name, unless it holds half the text (a wrapper named "paywall")."""
        found = self._furniture.get(element)
        if found is None:
            found = self._furniture[element] = self._is_furniture(element)
        return found

    def _is_furniture(self, element: HtmlElement) -> bool:
        tag = element.tag
        if tag in ("html", "body"):
            return False
        if self.weights.get(element, 0) >= max(self.total / 2, 1):
            return False
        if tag in _FURNITURE_TAGS:
            return True
        if not self.names_trusted and element in self.weights:
            return False
        names = f"{element.get('class', '')} {element.get('id', '')}"
        return bool(names.strip()) and bool(_FURNITURE_NAMES.search(names))

    def in_furniture(self, element: HtmlElement) -> bool:
        return any(self.is_furniture(e) for e in (element, *element.iterancestors()))

    def regions(self) -> list[HtmlElement]:
        """The deepest element holding 90% of the text, and look-alikes (a body cut in chunks)."""
        needed = 0.9 * self.total
        holders = [element for element, weight in self.weights.items() if weight >= needed]
        region = max(holders, key=lambda element: sum(1 for _ in element.iterancestors()))
        names = region.get("class")
        if not names:
            return [region]
        scope = region
        for _ in range(3):
            scope = scope.getparent() if scope.getparent() is not None else scope
        roots: list[HtmlElement] = []
        for element in scope.iter(region.tag):
            if element.get("class") != names or any(r in roots for r in element.iterancestors()):
                continue
            if element is region or (self._has_prose(element) and not self.in_furniture(element)):
                roots.append(element)
        return roots

    @staticmethod
    def _has_prose(element: HtmlElement) -> bool:
        return any(
            len(_TOKEN.findall(p.text_content())) >= REGION_MIN_WORDS for p in element.iter("p")
        )


def _declared_headlines(
    tree: HtmlElement, articles: list[dict[str, Any]], layout: _Layout
) -> list[str]:
    found = [item["headline"] for item in articles if isinstance(item.get("headline"), str)]
    for name in ("og:title", "twitter:title"):
        found.append(_meta(tree, name) or "")
    found += tree.xpath("//head/title/text()")
    found += [h1.text_content() for h1 in tree.iter("h1") if not layout.in_furniture(h1)]
    return _distinct(found)


def _declared_bylines(
    tree: HtmlElement, articles: list[dict[str, Any]], layout: _Layout
) -> list[str]:
    found = _json_ld_authors(articles)
    found += tree.xpath(
        "//meta[@name='author' or @property='article:author' or @name='article:author'"
        " or @name='parsely-author' or @name='sailthru.author' or @name='byl'"
        " or @name='dc.creator' or @name='DC.creator']/@content"
    )
    for element in tree.xpath(
        "//*[@itemprop='author'] | //a[contains(concat(' ', @rel, ' '), ' author ')]"
        " | //*[contains(@class, 'byline') or contains(@class, 'author')]"
    ):
        value = element.text_content()
        if len(value) <= 200 and not layout.in_furniture(element):
            found.append(value)
    return _distinct(strip_volatile(value) for value in found)


def _json_ld_authors(articles: list[dict[str, Any]]) -> list[str]:
    """Author names of the page's JSON-LD articles (a person's or an organisation's)."""
    names: list[str] = []
    for item in articles:
        authors = item.get("author")
        for author in authors if isinstance(authors, list) else [authors]:
            name = author.get("name") if isinstance(author, dict) else author
            if isinstance(name, str) and name.strip():
                names.append(" ".join(name.split()))
    return names


def _distinct(values: Iterable[str]) -> list[str]:
    squashed = (" ".join(value.split()) for value in values)
    return list(dict.fromkeys(value for value in squashed if value))


def _article_lines(layout: _Layout) -> list[str]:
    """The article as laid out in the page, one line per block, furniture left out.

    The region (see ``_Layout.regions``) is read in document order, skipping furniture tags and
    class/id-named furniture: every line of trafilatura's text found there is kept, and so is any
    other line of ``REGION_MIN_WORDS``+ words that is not mostly links. Then come the lines of
    trafilatura's text not found in the region, except those inside furniture (an ad's copy).
    """
    if not layout.kept:
        return list(layout.lines)
    collector = _LineCollector(layout)
    for root in layout.regions():
        collector.walk(root, in_link=False)
        collector.flush()
    seen: set[str] = set()
    lines: list[str] = []
    for line, linked in collector.lines:
        key = _key(line)
        if key in layout.keys:
            seen.add(key)
            lines.append(line)
        elif not linked and len(_TOKEN.findall(strip_volatile(line))) >= REGION_MIN_WORDS:
            lines.append(line)
    misplaced = {_key(e.text_content()) for e in layout.kept if layout.in_furniture(e)}
    lines += [line for line in layout.lines if _key(line) not in seen | misplaced]
    return lines


class _LineCollector:
    """The text of subtrees, one line per block element, flagged when mostly inside links."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.lines: list[tuple[str, bool]] = []
        self.parts: list[str] = []
        self.linked = 0
        self.total = 0

    def add(self, value: str, in_link: bool) -> None:
        self.parts.append(value)
        size = len(value.strip())
        self.total += size
        self.linked += size if in_link else 0

    def flush(self) -> None:
        line = " ".join("".join(self.parts).split())
        if line:
            self.lines.append((line, self.linked > self.total / 2))
        self.parts, self.linked, self.total = [], 0, 0

    def walk(self, element: HtmlElement, in_link: bool) -> None:
        tag = element.tag
        if not isinstance(tag, str) or self.layout.is_furniture(element):
            return  # comments and processing instructions have no text
        block = tag in _BLOCK_TAGS
        in_link = in_link or tag == "a"
        if block:
            self.flush()
        elif tag == "br":
            self.add(" ", in_link)  # a line break inside a paragraph (a poem, a tweet)
        if element.text:
            self.add(element.text, in_link)
        for child in element:
            self.walk(child, in_link)
            if child.tail:
                self.add(child.tail, in_link)
        if block:
            self.flush()
