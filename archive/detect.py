"""Change detection's view of a page: what ``Article.detection_text`` holds.

trafilatura's text leaves out page furniture, but also some paragraphs of the article (embedded
posts, chunks of a body split by ads), and its byline is often empty. So change detection
compares more than the text: the headlines and bylines the page declares, and the article as laid
out in the page, i.e. trafilatura's paragraphs in their element, with the prose around them that
trafilatura left out, and without the furniture (ads, related links) it let in.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lxml.etree import XPath

from archive.normalize import strip_volatile
from archive.pagemeta import (
    ARTICLE_TYPES,
    Declarations,
    json_ld_authors,
    meta_content,
    schema_types,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lxml.html import HtmlElement


# Runs of what HTML collapses (not \s: a no-break space stays), but for a lone space: it would
# stay as it is, and most text has one between every two words.
_HTML_SPACES = re.compile(r" [ \t\n\r\f]+|[\t\n\r\f][ \t\n\r\f]*")
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

_TITLE = XPath("//head/title/text()")
_AUTHOR_METAS = XPath(
    "//meta[@name='author' or @property='article:author' or @name='article:author'"
    " or @name='parsely-author' or @name='sailthru.author' or @name='byl'"
    " or @name='dc.creator' or @name='DC.creator']/@content"
)
# Elements with itemprop=author, rel=author or a byline class, in page order: libxml2 tests
# attributes faster than it tests every element for them.
_BYLINES = XPath(
    "(//@itemprop[. = 'author'] | //a/@rel[contains(concat(' ', ., ' '), ' author ')]"
    " | //@class[contains(., 'byline') or contains(., 'author')])/.."
)


def collapse_whitespace(tree: HtmlElement) -> None:
    """Collapse runs of HTML whitespace to one space, as a browser renders them (not in ``<pre>``).

    trafilatura keeps the source's line breaks inside some elements, so a page re-flowed by its
    CMS would otherwise look edited.

    >>> from lxml.html import fromstring, tostring
    >>> tree = fromstring("<div><p>one\\n   two</p><pre>a\\n  b</pre></div>")
    >>> collapse_whitespace(tree); tostring(tree)
    b'<div><p>one two</p><pre>a\\n  b</pre></div>'
    """
    collapse = _HTML_SPACES.sub
    kept = set(tree.iter(*_KEEP_SPACE))
    inside = {descendant for element in kept for descendant in element.iterdescendants()}
    for element in tree.iter():  # one pass in C; a walk in Python costs twice as much
        if element in inside:
            continue  # its text and its tail are preformatted
        text = element.text
        if text and element not in kept and isinstance(element.tag, str):
            collapsed = collapse(" ", text)
            if collapsed != text:  # setting text costs more than comparing it
                element.text = collapsed
        tail = element.tail
        if tail and element is not tree:
            collapsed = collapse(" ", tail)
            if collapsed != tail:
                element.tail = collapsed


def read_detection_text(tree: HtmlElement, text: str, declared: Declarations | None = None) -> str:
    """What change detection compares, one item per line: headlines, bylines, then the article.

    ``headline:`` lines come from JSON-LD ``headline``, ``og:``/``twitter:title``, ``<title>`` and
    ``<h1>``; ``byline:`` lines from JSON-LD ``author``, author ``<meta>``, ``rel=author``,
    ``itemprop=author`` and byline elements; then the article's lines (``_article_lines``).

    Args:
        tree: the page, as parsed for extraction.
        text: trafilatura's text of it, one paragraph per line.
        declared: ``Declarations.read(tree)``, when another reader needs them too.
    """
    declared = declared or Declarations.read(tree)
    layout = _Layout(tree, text)
    articles = [item for item in declared.json_ld if schema_types(item) & ARTICLE_TYPES]
    headlines = _declared_headlines(tree, declared.metas, articles, layout)
    lines = [f"headline: {value}" for value in headlines]
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
        # A block's key is never longer than its text: shorter blocks hold no line of 4+ words.
        shortest = min((len(key) for key in keys if key.count(" ") >= 3), default=longest + 1)
        found: list[tuple[HtmlElement, int]] = []  # element, length of the line it holds
        containers: set[HtmlElement] = set()  # around a block too long, so too long as well
        for element in reversed(list(tree.iter(_TEXT_BLOCKS))):  # inner blocks first
            if element in containers:
                continue
            content = element.text_content()
            if len(content) > longest:  # a container of several lines
                for ancestor in element.iterancestors():
                    if ancestor in containers:
                        break
                    containers.add(ancestor)
                continue
            if len(content) < shortest:
                continue  # a label
            key = _key(content)
            if key in keys and key.count(" ") >= 3:  # 4+ words: short lines are ambiguous
                found.append((element, len(key)))
        self.kept = dict(reversed(found))  # in page order
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
        self._furniture: dict[HtmlElement, bool] = {}
        misplaced = sum(
            weight for element, weight in self.kept.items() if self.in_furniture(element)
        )
        self.names_trusted = misplaced <= 0.3 * self.total
        self._furniture = {}  # what is furniture changes with the trust in names

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
    tree: HtmlElement,
    tags: dict[tuple[str, str], str],
    articles: list[dict[str, Any]],
    layout: _Layout,
) -> list[str]:
    found = [item["headline"] for item in articles if isinstance(item.get("headline"), str)]
    for name in ("og:title", "twitter:title"):
        found.append(meta_content(tree, name, tags) or "")
    found += _TITLE(tree)
    found += [h1.text_content() for h1 in tree.iter("h1") if not layout.in_furniture(h1)]
    return _distinct(found)


def _declared_bylines(
    tree: HtmlElement, articles: list[dict[str, Any]], layout: _Layout
) -> list[str]:
    found = json_ld_authors(articles)
    found += _AUTHOR_METAS(tree)
    for element in _BYLINES(tree):
        value = element.text_content()
        if len(value) <= 200 and not layout.in_furniture(element):
            found.append(value)
    return _distinct(strip_volatile(value) for value in found)


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
