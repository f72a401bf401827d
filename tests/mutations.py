"""Mutation suite for change detection: real pages, edited the way publishers and their CMSs do.

Content kinds must make a new version (a different ``content_fingerprint``); boilerplate kinds must
not. Content edits touch the paragraphs that the corpus's ground truth marks as the article;
boilerplate changes touch what lies outside them. Where a page has no target (no related-links box,
no ad slot, no counter…), one is inserted in a realistic place and both pages of the pair carry
it, with different contents. Both pages of a pair are serialised by lxml, so that the parser's round
trip is never mistaken for the mutation.

    python -m tests.mutations [--seed N] [--limit N] [--kind KIND] [--jobs N] [-v]

prints the rate per kind over the corpus (``-v``: every failure and no-op).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

import lxml.html

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from tests.corpus_blog import CorpusPage

# Content edits: each must make a new version.
WORD = "word_changed"
DATE = "date_fixed"
PARAGRAPH_ADDED = "paragraph_added"
PARAGRAPH_DELETED = "paragraph_deleted"
PARAGRAPH_MOVED = "paragraph_moved"
HEADLINE = "headline_changed"
BYLINE = "byline_changed"
CONTENT_KINDS = (WORD, DATE, PARAGRAPH_ADDED, PARAGRAPH_DELETED, PARAGRAPH_MOVED, HEADLINE, BYLINE)

# Boilerplate-only changes: none may make a new version.
RELATED = "related_links"
AD = "rotating_ad"
RELATIVE_TIME = "relative_time"
TOKENS = "csrf_nonce"
COUNTERS = "counters"
NAV = "nav_reordered"
SCRIPT_STYLE = "script_style"
TRACKING = "tracking_params"
CACHE_BUST = "cache_busting"
WHITESPACE = "whitespace_reflow"
BOILERPLATE_KINDS = (RELATED, AD, RELATIVE_TIME, TOKENS, COUNTERS, NAV, SCRIPT_STYLE)
BOILERPLATE_KINDS += (TRACKING, CACHE_BUST, WHITESPACE)
KINDS = CONTENT_KINDS + BOILERPLATE_KINDS

_WORDS = re.compile(r"\w+")
_EDITABLE_WORD = re.compile(r"\b[^\W\d_]{4,}\b")
_YEAR = re.compile(r"(?<![\d,.])(19[5-9]\d|20[0-4]\d)(?![\d,])")
_MONTHS = "Jan|January|Feb|February|Mar|March|Apr|April|May|Jun|June|Jul|July|Aug|August|Sep|Sept"
_MONTHS += "|September|Oct|October|Nov|November|Dec|December"
_MONTH_DAY = re.compile(rf"\b(?:{_MONTHS})\.?\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+(?:{_MONTHS})\b")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY = re.compile(rf"\b({'|'.join(_WEEKDAYS)})\b")
_RELATIVE = re.compile(
    r"\b(\d+)(\s*)(minutes?|mins?|hours?|hrs?|days?|weeks?|months?|[hmd])(\s+ago)\b", re.IGNORECASE
)
_COUNTER = re.compile(
    r"^(?:\d[\d,.]*\s*[km]?\s*(?:views?|comments?|shares?|reads?|likes?|responses?|replies"
    r"|reactions?)|(?:views?|comments?|shares?|responses?)\s*[:(]?\s*\d[\d,.]*\)?)$",
    re.IGNORECASE,
)
_NO_TEXT = frozenset({"script", "style", "noscript", "template", "textarea", "pre", "code"})
_DOCTYPE = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?<!doctype", re.IGNORECASE)
_SPACE_RUN = re.compile(r"[ \t\n\r\f]+")  # not \s: a no-break space does not collapse
_RELATED_NAME = re.compile(
    r"related|recommend|more[-_]?(?:stories|from|news|articles|on)|most[-_]?(?:read|popular|viewed)"
    r"|popular|trending|read[-_]?next|also[-_]?(?:like|read)|you[-_]?may|taboola|outbrain",
    re.IGNORECASE,
)
_AD_NAME = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|adslot|adunit|dfp|gpt|sponsor|sponsored)(?:$|[\s_-])"
    r"|adsbygoogle|google_ads|advert",
    re.IGNORECASE,
)
_TOKEN_NAME = re.compile(r"csrf|token|nonce|authenticity|form_build_id|form_key", re.IGNORECASE)
_SCRIPT_TOKEN = re.compile(
    r"""(["']?(?:nonce|csrf[_-]?token|_token|security|formKey)["']?\s*[:=]\s*["'])"""
    r"""([A-Za-z0-9+/=_-]{6,})(["'])"""
)
_ASSET_VERSION = re.compile(r"([?&](?:v|ver|version|rev|cb)=)[^&#]*")

_REPLACEMENT_WORDS = ("several", "recent", "major", "local", "early", "public", "formal")
_REPLACEMENT_WORDS += ("annual", "sudden", "modest", "critical", "central", "private", "rapid")
_NAMES = (
    "Dana Whitfield",
    "Marcus Oyelaran",
    "Priya Raman",
    "Tomasz Zielinski",
    "Helen Okafor",
    "Jonas Lindqvist",
)
_SUBJECTS = ("City council", "Regulators", "Researchers", "The central bank", "Lawmakers", "Fans")
_VERBS = ("weigh", "unveil", "reject", "push back on", "brace for", "question")
_OBJECTS = (
    "plan to cut bus routes",
    "new rules for delivery drones",
    "record heat this summer",
    "a tax on sugary drinks",
    "the rising cost of streaming",
    "delays at the port",
)
_ADDED_SENTENCES = (
    (
        "Update: {org} said in a statement on {day} that it would appeal the decision and that "
        "further details would follow in the coming weeks."
    ),
    (
        "Correction: An earlier version of this article misstated the number of {thing}. There "
        "were {n}, not {m}."
    ),
    (
        "{name}, a spokesperson for {org}, declined to comment on the {thing} when reached by "
        "phone on {day}."
    ),
    (
        "This article has been updated to include a response from {org}, which had not replied "
        "to requests for comment by the time of publication."
    ),
)
_ORGS = ("the ministry", "the company", "the city council", "the university", "the league")
_THINGS = ("complaints", "participants", "affected households", "stores", "delegates")
_ADS = (
    ("Northwind Travel", "Save 30% on flights to Lisbon this spring. Book by Friday."),
    (
        "Bluebird Bank",
        "Rates from 5.9% APR. Check yours in two minutes, with no effect on your score.",
    ),
    (
        "Sunrise Mattress",
        "Sleep better tonight: free delivery and a 100-night trial on every order.",
    ),
    ("Acme Insurance", "Compare quotes from twenty insurers and switch in five minutes."),
)


@dataclass(frozen=True)
class Mutation:
    """Two versions of a page that differ by one edit."""

    kind: str
    before: str
    """The page as first captured (serialised by lxml)."""
    after: str
    """The page after the edit (serialised by lxml)."""
    note: str
    """What was changed, for failure reports."""


def parse(page_html: str) -> HtmlElement:
    """Parse a page from UTF-8 bytes, as trafilatura does (so an XML declaration is no obstacle)."""
    parser = lxml.html.HTMLParser(encoding="utf-8")
    return lxml.html.document_fromstring(page_html.encode("utf-8"), parser=parser)


def serialize(doc: HtmlElement, with_doctype: bool = True) -> str:
    """The page as HTML, with its doctype (libxml2 implies one when the page has none)."""
    doctype = doc.getroottree().docinfo.doctype if with_doctype else None
    return lxml.html.tostring(doc, encoding="unicode", doctype=doctype or None)


def mutate(page_html: str, kind: str, rng: random.Random, truth: str = "") -> Mutation | None:
    """Apply one mutation of ``kind`` to a page; None when the page has nothing it applies to.

    Args:
        page_html: the page.
        kind: one of ``KINDS``.
        rng: the source of every choice, so that a seed reproduces the suite.
        truth: the article's text as a person marked it; content edits touch only ``<p>``s whose
            words are in it. Without it, the ``<p>``s inside ``<article>``/``<main>`` are used.
    """
    page = _Page(parse(page_html), truth, _DOCTYPE.match(page_html) is not None)
    result = _MUTATORS[kind](page, rng)
    if result is None:
        return None
    before, note = result
    return Mutation(kind, before, page.snapshot(), note)


Result = tuple[str, str]
"""What a mutator returns: (the page before, a note); the page after is ``page.doc`` as edited."""


class _Page:
    """A parsed page and where its article is."""

    def __init__(self, doc: HtmlElement, truth: str, with_doctype: bool) -> None:
        self.doc = doc
        self.paragraphs = _article_paragraphs(doc, truth)
        self.with_doctype = with_doctype

    def snapshot(self) -> str:
        return serialize(self.doc, self.with_doctype)

    def body(self) -> HtmlElement:
        found = self.doc.find("body")
        return found if found is not None else self.doc

    def anchor(self) -> HtmlElement:
        """The element holding the article, to insert things next to it."""
        if self.paragraphs:
            return _common_ancestor(self.paragraphs)
        found = self.doc.xpath("//article|//main|//*[@itemprop='articleBody']")
        return found[0] if found else self.body()

    def headline(self) -> HtmlElement | None:
        """The ``<h1>`` that shares most words with the headlines the page declares."""
        h1s = [h for h in self.doc.iter("h1") if _squash(h.text_content())]
        if not h1s:
            return None
        declared = self.doc.xpath(
            "//meta[@property='og:title' or @name='twitter:title']/@content|//title/text()"
        )
        wanted = set(_WORDS.findall(" ".join(declared + _json_ld_values(self.doc)).lower()))
        return max(h1s, key=lambda h: len(wanted & set(_WORDS.findall(h.text_content().lower()))))

    def below_headline(self) -> HtmlElement:
        """Where a dateline or a stats line goes: after the headline, else atop the article."""
        h1 = self.headline()
        return h1 if h1 is not None else self.anchor()

    def outside_article(self, elements: list[HtmlElement]) -> list[HtmlElement]:
        """Those of ``elements`` that neither hold nor sit inside an article paragraph."""
        holding = set(self.paragraphs)
        for p in self.paragraphs:
            holding.update(p.iterancestors())
        return [e for e in elements if e not in holding and not _within(e, self.paragraphs)]

    def named(self, pattern: re.Pattern[str], min_links: int = 0) -> list[HtmlElement]:
        """Outermost body elements outside the article whose class or id matches ``pattern``."""
        found = [
            e
            for e in self.body().iter()
            if isinstance(e.tag, str)
            and e.tag not in ("body", "script", "style", "iframe", "img", "meta", "link")
            and pattern.search(f"{e.get('class', '')} {e.get('id', '')}")
            and len(e.xpath(".//a[normalize-space()]")) >= min_links
        ]
        found = self.outside_article(found)
        return [e for e in found if not _within(e, found)]


# --- helpers -----------------------------------------------------------------------------------


def _squash(value: str | None) -> str:
    return " ".join((value or "").split())


def _slots(root: HtmlElement, skip: frozenset[str] = _NO_TEXT) -> Iterator[tuple[Any, str]]:
    """``(element, "text" | "tail")`` for every text inside ``root``, in document order."""
    if isinstance(root.tag, str) and root.tag not in skip:
        if root.text:
            yield root, "text"
        for child in root:
            yield from _slots(child, skip)
            if child.tail:
                yield child, "tail"


def _get(slot: tuple[Any, str]) -> str:
    return getattr(slot[0], slot[1]) or ""


def _set(slot: tuple[Any, str], value: str) -> None:
    setattr(slot[0], slot[1], value)


def _within(element: HtmlElement, ancestors: list[HtmlElement]) -> bool:
    return any(a in ancestors for a in element.iterancestors())


def _article_paragraphs(doc: HtmlElement, truth: str) -> list[HtmlElement]:
    """``<p>``s of 8+ words whose words are in the ground truth (or that sit in an article)."""
    if truth:
        truth_words = " " + " ".join(_WORDS.findall(truth)) + " "
        found = []
        for p in doc.iter("p"):
            words = _WORDS.findall(p.text_content())
            if len(words) >= 8 and " " + " ".join(words) + " " in truth_words:
                found.append(p)
        return found
    candidates = doc.xpath(
        "(//article//p|//main//p|//*[@itemprop='articleBody']//p)"
        "[not(ancestor::aside or ancestor::nav or ancestor::footer or ancestor::form)]"
    )
    return [p for p in dict.fromkeys(candidates) if len(_WORDS.findall(p.text_content())) >= 8]


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement:
    common = [elements[0], *elements[0].iterancestors()]
    for element in elements[1:]:
        ancestors = {element, *element.iterancestors()}
        common = [a for a in common if a in ancestors]
    return common[0]


def _json_ld(doc: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every object in the page's JSON-LD."""
    for script in doc.xpath("//script[@type='application/ld+json']/text()"):
        try:
            stack = [json.loads(script)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                yield node
                stack.extend(node.values())


def _json_ld_values(doc: HtmlElement, key: str = "headline") -> list[str]:
    return [node[key] for node in _json_ld(doc) if isinstance(node.get(key), str)]


def _edit_json_ld(doc: HtmlElement, edit: Callable[[str], str]) -> None:
    """Apply ``edit`` to every string of every JSON-LD block (re-serialised only if changed)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return edit(node) if isinstance(node, str) else node

    for script in doc.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        edited = walk(data)
        if edited != data:
            script.text = json.dumps(edited, ensure_ascii=False)


def _fragment(markup: str) -> HtmlElement:
    return lxml.html.fragment_fromstring(markup)


def _fill(element: HtmlElement, markup: str) -> None:
    """Replace the content of ``element`` with ``markup``."""
    for child in list(element):
        element.remove(child)
    holder = _fragment(f"<div>{markup}</div>")
    element.text = holder.text
    for child in list(holder):
        element.append(child)


def _headline_text(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"


def _slug(text: str) -> str:
    return "-".join(_WORDS.findall(text.lower()))


def _token(rng: random.Random, size: int = 16) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(size))


def _replace_word(slot: tuple[Any, str], rng: random.Random) -> str:
    text = _get(slot)
    match = rng.choice(list(_EDITABLE_WORD.finditer(text)))
    old = match.group(0)
    new = rng.choice([w for w in _REPLACEMENT_WORDS if w != old.lower()])
    new = new.capitalize() if old[0].isupper() else new
    _set(slot, text[: match.start()] + new + text[match.end() :])
    return f"{old!r} -> {new!r}"


# --- content edits -----------------------------------------------------------------------------


def _word_changed(page: _Page, rng: random.Random) -> Result | None:
    before = page.snapshot()
    for p in rng.sample(page.paragraphs, len(page.paragraphs)):
        slots = [s for s in _slots(p) if _EDITABLE_WORD.search(_get(s))]
        if slots:
            return before, f"word {_replace_word(rng.choice(slots), rng)}"
    return None


def _date_fixed(page: _Page, rng: random.Random) -> Result | None:
    """A year in a sentence fixed; else a day of the month; else a weekday."""
    before = page.snapshot()
    slots = [s for p in page.paragraphs for s in _slots(p)]
    for pattern in (_YEAR, _MONTH_DAY, _WEEKDAY):
        found = [(s, m) for s in slots for m in pattern.finditer(_get(s))]
        if not found:
            continue
        slot, match = rng.choice(found)
        group = next(g for g in range(1, pattern.groups + 1) if match.group(g))
        old = match.group(group)
        if pattern is _YEAR:
            new = str(int(old) + rng.choice((-2, -1, 1, 2)))
        elif pattern is _MONTH_DAY:
            new = str(int(old) % 28 + 1)
        else:
            new = rng.choice([d for d in _WEEKDAYS if d != old])
        text = _get(slot)
        start, end = match.span(group)
        _set(slot, text[:start] + new + text[end:])
        return before, f"date {old!r} -> {new!r} in {_squash(text)[:60]!r}"
    return None


def _paragraph_added(page: _Page, rng: random.Random) -> Result | None:
    if not page.paragraphs:
        return None
    before = page.snapshot()
    anchor = rng.choice(page.paragraphs)
    sentence = rng.choice(_ADDED_SENTENCES).format(
        org=rng.choice(_ORGS),
        day=rng.choice(_WEEKDAYS),
        name=rng.choice(_NAMES),
        thing=rng.choice(_THINGS),
        n=rng.randint(12, 90),
        m=rng.randint(100, 400),
    )
    new = anchor.makeelement("p", dict(anchor.attrib))  # looks like its neighbours
    new.text, new.tail = sentence, anchor.tail
    anchor.addnext(new)
    return before, f"added after {_squash(anchor.text_content())[:50]!r}"


def _paragraph_deleted(page: _Page, rng: random.Random) -> Result | None:
    if len(page.paragraphs) < 2:
        return None
    before = page.snapshot()
    victim = rng.choice(page.paragraphs)
    note = f"deleted {_squash(victim.text_content())[:60]!r}"
    victim.drop_tree()
    return before, note


def _paragraph_moved(page: _Page, rng: random.Random) -> Result | None:
    """One paragraph moved before another of the same parent (with a different text)."""
    texts = [_squash(p.text_content()) for p in page.paragraphs]
    pairs = [
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if texts[i] != texts[j] and page.paragraphs[i].getparent() is page.paragraphs[j].getparent()
    ]
    if not pairs:
        return None
    before = page.snapshot()
    i, j = rng.choice(pairs)
    moved = page.paragraphs[j]
    moved.tail = page.paragraphs[i].tail  # keep the layout's whitespace where it was
    page.paragraphs[i].addprevious(moved)
    return before, f"moved {texts[j][:40]!r} before {texts[i][:40]!r}"


def _headline_changed(page: _Page, rng: random.Random) -> Result | None:
    """The visible ``<h1>`` edited, and the CMS's copies of it: <title>, og:/twitter:, JSON-LD."""
    h1 = page.headline()
    if h1 is None:
        return None
    before = page.snapshot()
    old = _squash(h1.text_content())
    slots = [s for s in _slots(h1) if _get(s).strip()]
    editable = [s for s in slots if _EDITABLE_WORD.search(_get(s))]
    if editable and rng.random() < 0.6:
        _replace_word(rng.choice(editable), rng)
    else:
        text = _get(slots[-1])
        stripped = text.rstrip()
        suffix = rng.choice((", officials say", ": what we know", " (updated)", " amid criticism"))
        _set(slots[-1], stripped + suffix + text[len(stripped) :])
    new = _squash(h1.text_content())

    def retitle(value: str) -> str:
        return _squash(value).replace(old, new, 1) if old in _squash(value) else value

    for meta in page.doc.xpath("//meta[@content]"):
        meta.set("content", retitle(meta.get("content")))
    for title in page.doc.iter("title"):
        title.text = retitle(title.text or "")
    _edit_json_ld(page.doc, retitle)
    return before, f"headline {old!r} -> {new!r}"


def _author_names(page: _Page) -> list[str]:
    """Author names the page declares: the article's JSON-LD, author meta tags, bylines."""
    names: list[str] = []
    for node in _json_ld(page.doc):
        if not re.search(r"Article|Posting|Report", str(node.get("@type"))):
            continue  # an organisation's or a claim review's author is not the byline
        authors = node.get("author")
        for value in authors if isinstance(authors, list) else [authors]:
            value = value.get("name") if isinstance(value, dict) else value
            if isinstance(value, str):
                names.append(value)
    names += page.doc.xpath(
        "//meta[@name='author' or @property='article:author' or @name='parsely-author'"
        " or @name='sailthru.author' or @name='byl']/@content"
    )
    for element in page.doc.xpath(
        "(//a[@rel='author']|//*[@itemprop='author']|//*[contains(@class,'byline')]"
        "|//*[contains(@class,'author')])[not(ancestor-or-self::form)]"
        "[not(ancestor-or-self::*[contains(@class,'comment') or contains(@id,'comment')])]"
    ):
        names.append(element.text_content())
    cleaned = (re.sub(r"^by\s+", "", _squash(n), flags=re.IGNORECASE) for n in names)
    return list(
        dict.fromkeys(n for n in cleaned if 3 <= len(n) <= 40 and "@" not in n and "//" not in n)
    )


def _byline_changed(page: _Page, rng: random.Random) -> Result | None:
    """Another author, everywhere the CMS renders the name: byline, meta, JSON-LD, author URL."""
    names = _author_names(page)
    if not names:
        return None
    visible = " ".join(_get(s) for s in _slots(page.body()))
    shown = [n for n in names if re.search(re.escape(n), visible, re.IGNORECASE)]
    old = (shown or names)[0]
    new = rng.choice([n for n in _NAMES if n.lower() != old.lower()])
    before = page.snapshot()
    pattern = re.compile(re.escape(old), re.IGNORECASE)

    def rename(text: str) -> str:
        text = pattern.sub(lambda m: new.upper() if m.group(0).isupper() else new, text)
        return text.replace(_slug(old), _slug(new))

    for slot in _slots(page.doc, skip=frozenset()):  # scripts too: dataLayer, JSON-LD
        _set(slot, rename(_get(slot)))
    for element in page.doc.iter():
        for attr in ("content", "title", "alt", "href", "aria-label"):
            value = element.get(attr) if isinstance(element.tag, str) else None
            if value:
                element.set(attr, rename(value))
    where = "visible and metadata" if shown else "metadata only"
    return before, f"byline {old!r} -> {new!r} ({where})"


# --- boilerplate changes -----------------------------------------------------------------------


def _related_links(page: _Page, rng: random.Random) -> Result | None:
    """Every link of a related-links box rewritten (or a box inserted next to the article)."""
    boxes = page.named(_RELATED_NAME, min_links=2)
    if boxes:
        box = rng.choice(boxes)
        before = page.snapshot()
        for link in box.xpath(".//a[normalize-space()]"):
            headline = _headline_text(rng)
            _set(max(_slots(link), key=lambda s: len(_get(s))), headline)
            link.set("href", f"/news/{_slug(headline)}-{rng.randint(1000, 9999)}")
        return before, f"rewrote {box.tag}.{box.get('class', '')}"[:80]
    aside = _fragment('<aside class="related-articles"><h3>Related</h3><ul></ul></aside>')
    inside = rng.random() < 0.5
    if inside:
        page.anchor().append(aside)
    else:
        page.anchor().addnext(aside)

    def fill() -> None:
        headlines = [_headline_text(rng) for _ in range(4)]
        _fill(aside[1], "".join(f'<li><a href="/news/{_slug(h)}">{h}</a></li>' for h in headlines))

    fill()
    before = page.snapshot()
    fill()
    return before, f"inserted a related box {'inside' if inside else 'after'} the article"


def _rotating_ad(page: _Page, rng: random.Random) -> Result | None:
    """Another creative in an ad slot (a slot is inserted if the page has none)."""
    slots = page.named(_AD_NAME)
    if slots:
        slot = rng.choice(slots)
        note = f"rotated {slot.tag}.{slot.get('class', '') or slot.get('id', '')}"[:80]
    else:
        slot = _fragment(f'<div class="ad-slot" id="div-gpt-ad-{rng.randint(1000, 9999)}-0"></div>')
        if len(page.paragraphs) >= 2 and rng.random() < 0.5:
            rng.choice(page.paragraphs[:-1]).addnext(slot)
            note = "inserted an ad slot between article paragraphs"
        else:
            page.anchor().addnext(slot)
            note = "inserted an ad slot after the article"

    def show(brand: str, offer: str) -> None:
        cid = rng.randint(10**8, 10**9)
        click = (
            f"https://ads.example.net/click?cr={cid}&amp;adurl=https%3A%2F%2F{_slug(brand)}.example"
        )
        _fill(
            slot,
            f'<div class="ad-label">Advertisement</div><a rel="sponsored" href="{click}">'
            f'<img src="https://cdn.ads.example.net/creative/{cid}.jpg" alt="{brand}"></a>'
            f'<p class="ad-copy">{brand}: {offer}</p>',
        )

    first, second = rng.sample(_ADS, 2)
    show(*first)
    before = page.snapshot()
    show(*second)
    return before, note


def _relative_phrase(rng: random.Random) -> str:
    prefix = rng.choice(("", "Updated ", "Published ", "Last updated "))
    unit = rng.choice(("minutes", "mins", "hours", "days", "h", "m"))
    amount = f"{rng.randint(2, 59)}{'' if len(unit) == 1 else ' '}{unit}"
    return rng.choice((f"{prefix}{amount} ago", f"{prefix}{amount} ago", f"{prefix}an hour ago"))


def _relative_time(page: _Page, rng: random.Random) -> Result | None:
    """Every "N hours ago" on the page moves on (one is inserted under the headline if none)."""
    found = [s for s in _slots(page.body()) if _RELATIVE.search(_get(s))]
    if found:
        before = page.snapshot()

        def later(m: re.Match[str]) -> str:
            return f"{int(m.group(1)) + rng.randint(1, 5)}{m.group(2)}{m.group(3)}{m.group(4)}"

        for slot in found:  # the whole page is rendered later: every relative time moves
            _set(slot, _RELATIVE.sub(later, _get(slot)))
        return before, f"shifted {len(found)} relative times"
    stamp = _fragment(
        '<div class="article-meta"><time datetime="2019-11-20T09:14:00Z"></time></div>'
    )
    page.below_headline().addnext(stamp)
    first = _relative_phrase(rng)
    second = rng.choice((_relative_phrase(rng), "Just now"))
    while second == first:
        second = _relative_phrase(rng)
    stamp[0].text = first
    before = page.snapshot()
    stamp[0].text = second
    return before, f"inserted {first!r} -> {second!r} under the headline"


def _csrf_nonce(page: _Page, rng: random.Random) -> Result | None:
    """New CSRF tokens in forms and meta, new nonces on scripts and in their code."""
    doc = page.doc
    inputs = [
        i for i in doc.xpath("//input[@type='hidden'][@name]") if _TOKEN_NAME.search(i.get("name"))
    ]
    metas = doc.xpath("//meta[@name='csrf-token' or @name='csrf-param']")
    nonced = doc.xpath("//*[@nonce]")
    scripts = [s for s in doc.iter("script") if s.text and _SCRIPT_TOKEN.search(s.text)]
    note = f"{len(inputs)} inputs, {len(metas)} metas, {len(nonced)} nonces, {len(scripts)} scripts"
    if not (inputs or metas or nonced or scripts):
        forms = doc.xpath("//form")
        if not forms:
            forms = [
                _fragment(
                    '<form class="newsletter" action="/subscribe" method="post"><label>Email '
                    '<input type="email" name="email"></label><button>Sign up</button></form>'
                )
            ]
            page.anchor().addnext(forms[0])
        inputs = [_fragment('<input type="hidden" name="csrf_token" value="">')]
        forms[0].insert(0, inputs[0])
        script = _fragment('<script nonce="x">var wpApiSettings = {"nonce":"0000000000"};</script>')
        page.body().append(script)
        nonced = scripts = [script]
        note = "inserted a token, a nonce and a script nonce"

    def renew() -> None:
        for element in inputs + metas:
            element.set("value" if element.tag == "input" else "content", _token(rng, 32))
        for element in nonced:
            element.set("nonce", _token(rng, 22))
        for script in scripts:
            script.text = _SCRIPT_TOKEN.sub(
                lambda m: m.group(1) + _token(rng, len(m.group(2))) + m.group(3), script.text
            )

    renew()
    before = page.snapshot()
    renew()
    return before, note


def _counters(page: _Page, rng: random.Random) -> Result | None:
    """New view, comment and share counts (a stats line is inserted if the page shows none)."""
    found = []
    for element in page.body().iter():
        if not isinstance(element.tag, str) or element.tag in _NO_TEXT:
            continue
        text = _squash(element.text_content())
        if len(text) < 40 and _COUNTER.match(text):
            found += [s for s in _slots(element) if re.search(r"\d", _get(s))][:1]
    found = list(dict.fromkeys(found))
    note = f"changed {len(found)} counters"
    if not found:
        stats = _fragment(
            '<div class="post-stats"><span class="views-count">1 views</span> · '
            '<a class="comments-link" href="#comments">1 comments</a> · '
            '<span class="share-count">1 shares</span></div>'
        )
        page.below_headline().addnext(stats)
        found = [(child, "text") for child in stats]
        note = "inserted a stats line under the headline"

    def recount() -> None:
        for slot in found:
            _set(
                slot,
                re.sub(r"\d[\d,.]*", lambda _: f"{rng.randint(2, 25000):,}", _get(slot), count=1),
            )

    recount()
    before = page.snapshot()
    recount()
    return before, note


def _nav_reordered(page: _Page, rng: random.Random) -> Result | None:
    """The items of a menu in another order (a menu is inserted if the page has none)."""
    lists = []
    for nav in page.doc.xpath("//nav|//*[contains(@class,'menu') or contains(@id,'menu')]"):
        for parent in [nav, *nav.iterdescendants()]:
            items = [c for c in parent if c.tag in ("li", "a")]
            if len(items) >= 3 and len({_squash(i.text_content()) for i in items}) >= 2:
                lists.append(items)
    lists = [items for items in lists if len(page.outside_article(items)) == len(items)]
    if not lists:
        nav = _fragment('<nav class="site-nav"><ul></ul></nav>')
        sections = ("World", "Politics", "Business", "Tech", "Sport", "Culture")
        _fill(nav[0], "".join(f'<li><a href="/{s.lower()}/">{s}</a></li>' for s in sections))
        page.body().insert(0, nav)
        lists = [list(nav[0])]
        note = "inserted a menu, then "
    else:
        note = ""
    items = rng.choice(lists)
    before = page.snapshot()
    texts = [_squash(i.text_content()) for i in items]
    order = list(items)
    while [_squash(i.text_content()) for i in order] == texts:
        rng.shuffle(order)
    parent = items[0].getparent()
    positions = sorted(parent.index(i) for i in items)
    for item in items:
        parent.remove(item)  # with its tail: the layout's whitespace moves along
    for position, item in zip(positions, order, strict=True):
        parent.insert(position, item)
    return before, f"{note}reordered {len(items)} items"


def _script_style(page: _Page, rng: random.Random) -> Result | None:
    """Inline scripts with per-request values, a style rule changed or added."""
    before = page.snapshot()
    scripts = page.doc.xpath(
        "//script[not(@src)][not(@type) or contains(@type,'javascript') or @type='module']"
    )
    for script in rng.sample(scripts, min(2, len(scripts))):
        pageview = f'{{"id":"{_token(rng)}","ts":{rng.randint(10**9, 2 * 10**9)}}}'
        script.text = f"{script.text or ''}\n;window.__pv={pageview};"
    rule = f"\n.slot-{_token(rng, 6)}{{min-height:{rng.randint(50, 600)}px}}"
    styles = list(page.doc.iter("style"))
    if styles:
        style = rng.choice(styles)
        style.text = (style.text or "") + rule
    else:
        head = page.doc.find("head")
        (head if head is not None else page.body()).append(_fragment(f"<style>{rule}</style>"))
    return before, f"{min(2, len(scripts))} scripts, 1 style"


def _tracking_params(page: _Page, rng: random.Random) -> Result | None:
    """``utm_*`` (and sometimes ``fbclid``) added to most links."""
    links = [
        a
        for a in page.doc.xpath("//a[@href]")
        if not a.get("href").strip().startswith(("#", "javascript:", "mailto:", "tel:"))
    ]
    if not links:
        return None
    before = page.snapshot()
    params = f"utm_source={rng.choice(('twitter', 'newsletter', 'rss'))}&utm_medium=social"
    params += f"&utm_campaign={_token(rng, 8)}"
    for link in links:
        if rng.random() < 0.2:
            continue
        base, _, fragment = re.sub(
            r"([?&])utm_[^&#]*&?", r"\1", link.get("href").strip()
        ).partition("#")
        base = base.rstrip("?&")
        extra = f"&fbclid=IwAR{_token(rng, 24)}" if rng.random() < 0.3 else ""
        href = f"{base}{'&' if '?' in base else '?'}{params}{extra}"
        link.set("href", href + (f"#{fragment}" if fragment else ""))
    return before, f"{len(links)} links"


def _cache_busting(page: _Page, rng: random.Random) -> Result | None:
    """A new ``?v=`` on every stylesheet, script and image URL."""
    assets = [
        (e, "href")
        for e in page.doc.xpath(
            "//link[@href][contains(@rel,'stylesheet') or contains(@rel,'preload')"
            " or contains(@rel,'icon')]"
        )
    ]
    assets += [(e, "src") for e in page.doc.xpath("//script[@src]|//img[@src]")]
    assets = [(e, attr) for e, attr in assets if not e.get(attr).startswith("data:")]
    if not assets:
        return None

    def bump() -> None:
        version = str(rng.randint(100, 99999))
        for element, attr in assets:
            url = element.get(attr)
            if _ASSET_VERSION.search(url):
                url = _ASSET_VERSION.sub(lambda m: m.group(1) + version, url, count=1)
            else:
                base, _, fragment = url.partition("#")
                url = f"{base}{'&' if '?' in base else '?'}v={version}"
                url += f"#{fragment}" if fragment else ""
            element.set(attr, url)

    bump()
    before = page.snapshot()
    bump()
    return before, f"{len(assets)} assets"


def _whitespace_reflow(page: _Page, rng: random.Random) -> Result | None:
    """Every run of collapsible whitespace replaced by another (never removed, never in <pre>)."""
    before = page.snapshot()
    choices = (" ", "\n", "\n    ", "  ", "\t", "\n\n  ")
    for slot in _slots(page.doc):
        _set(slot, _SPACE_RUN.sub(lambda _: rng.choice(choices), _get(slot)))
    return before, "reflowed every text"


_MUTATORS: dict[str, Callable[[_Page, random.Random], Result | None]] = {
    WORD: _word_changed,
    DATE: _date_fixed,
    PARAGRAPH_ADDED: _paragraph_added,
    PARAGRAPH_DELETED: _paragraph_deleted,
    PARAGRAPH_MOVED: _paragraph_moved,
    HEADLINE: _headline_changed,
    BYLINE: _byline_changed,
    RELATED: _related_links,
    AD: _rotating_ad,
    RELATIVE_TIME: _relative_time,
    TOKENS: _csrf_nonce,
    COUNTERS: _counters,
    NAV: _nav_reordered,
    SCRIPT_STYLE: _script_style,
    TRACKING: _tracking_params,
    CACHE_BUST: _cache_busting,
    WHITESPACE: _whitespace_reflow,
}


# --- the runner --------------------------------------------------------------------------------


@dataclass
class KindReport:
    """How one kind of mutation fared over the pages."""

    kind: str
    tried: int = 0
    """Pages the mutation applied to."""
    not_applicable: int = 0
    """Pages with nothing to mutate (e.g. no date in the article for ``date_fixed``)."""
    noops: list[str] = field(default_factory=list)
    """Pages where the mutation left the HTML as it was: a generator bug, never a pass."""
    failures: list[str] = field(default_factory=list)
    """``page id: note`` for each missed edit (content) or false alarm (boilerplate)."""

    @property
    def expects_change(self) -> bool:
        return self.kind in CONTENT_KINDS

    @property
    def counted(self) -> int:
        return self.tried - len(self.noops)

    @property
    def passed(self) -> int:
        return self.counted - len(self.failures)

    @property
    def rate(self) -> float:
        """Share caught (content kinds) or ignored (boilerplate kinds), no-ops left out."""
        return self.passed / self.counted if self.counted else 1.0


def check_page(
    page: CorpusPage, kinds: tuple[str, ...] = KINDS, seed: int = 0
) -> list[tuple[str, str, str]]:
    """``(kind, outcome, note)`` per kind; outcome is ``pass``, ``fail``, ``noop`` or ``n/a``."""
    from archive.extract import extract_article
    from archive.normalize import content_fingerprint

    fingerprints: dict[str, str | None] = {}  # most mutations share their "before" page

    def fingerprint_of(page_html: str) -> str | None:
        if page_html not in fingerprints:
            article = extract_article(page_html, page.url)
            fingerprints[page_html] = content_fingerprint(article) if article else None
        return fingerprints[page_html]

    outcomes = []
    for kind in kinds:
        mutation = mutate(page.html, kind, random.Random(f"{seed}/{page.id}/{kind}"), page.truth)
        if mutation is None:
            outcomes.append((kind, "n/a", ""))
        elif mutation.before == mutation.after:
            outcomes.append((kind, "noop", mutation.note))
        else:
            before, after = fingerprint_of(mutation.before), fingerprint_of(mutation.after)
            if before is None or after is None:
                outcomes.append((kind, "fail", f"no article extracted; {mutation.note}"))
            else:
                ok = (before != after) == (kind in CONTENT_KINDS)
                outcomes.append((kind, "pass" if ok else "fail", mutation.note))
    return outcomes


def _check(task: tuple[CorpusPage, tuple[str, ...], int]) -> tuple[str, list[tuple[str, str, str]]]:
    page, kinds, seed = task
    return page.id, check_page(page, kinds, seed)


def run_suite(
    pages: list[CorpusPage], kinds: tuple[str, ...] = KINDS, seed: int = 0, jobs: int = 1
) -> dict[str, KindReport]:
    """Every kind of mutation on every page: a report per kind.

    With ``jobs`` > 1 the pages are checked in worker processes (extraction is CPU-bound).
    """
    tasks = [(page, kinds, seed) for page in pages]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=get_context("forkserver")) as pool:
            results = list(pool.map(_check, tasks))
    else:
        results = [_check(task) for task in tasks]
    reports = {kind: KindReport(kind) for kind in kinds}
    for page_id, outcomes in results:
        for kind, outcome, note in outcomes:
            report = reports[kind]
            if outcome == "n/a":
                report.not_applicable += 1
                continue
            report.tried += 1
            if outcome == "noop":
                report.noops.append(f"{page_id[:12]}: {note}")
            elif outcome == "fail":
                report.failures.append(f"{page_id[:12]}: {note}")
    return reports


def direction_rates(reports: dict[str, KindReport]) -> dict[str, tuple[int, int]]:
    """``{"caught": (passed, counted), "ignored": (passed, counted)}``, content/boilerplate."""
    rates = {}
    for label, content in (("caught", True), ("ignored", False)):
        group = [r for r in reports.values() if r.expects_change == content]
        rates[label] = (sum(r.passed for r in group), sum(r.counted for r in group))
    return rates


def format_table(reports: dict[str, KindReport]) -> str:
    """The per-kind table, then the rate per direction."""
    head = f"{'kind':<18} {'must':<10} {'tried':>5} {'n/a':>4} {'no-op':>5} {'fail':>4} {'rate':>7}"
    lines = [head, "-" * len(head)]
    for r in reports.values():
        must = "change" if r.expects_change else "not change"
        lines.append(
            f"{r.kind:<18} {must:<10} {r.tried:>5} {r.not_applicable:>4} {len(r.noops):>5} "
            f"{len(r.failures):>4} {r.rate:>7.1%}"
        )
    labels = {"caught": "content edits caught", "ignored": "boilerplate changes ignored"}
    for key, (passed, counted) in direction_rates(reports).items():
        if counted:
            lines.append(f"{labels[key]}: {passed}/{counted} = {passed / counted:.2%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite over the corpus and print the table."""
    from tests.corpus_blog import load_corpus

    parser = argparse.ArgumentParser(
        prog="python -m tests.mutations", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument(
        "--kind", action="append", choices=KINDS, help="only this kind (repeatable)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list failures and no-ops")
    args = parser.parse_args(argv)
    pages = load_corpus(args.limit)
    started = time.perf_counter()
    reports = run_suite(pages, tuple(args.kind or KINDS), args.seed, args.jobs)
    print(format_table(reports))
    print(f"{len(pages)} pages, seed {args.seed}, {time.perf_counter() - started:.0f} s")
    if args.verbose:
        for r in reports.values():
            for line in r.noops:
                print(f"NO-OP {r.kind} {line}")
            for line in r.failures:
                print(f"FAIL  {r.kind} {line}")
    failed = any(r.noops for r in reports.values()) or any(
        counted and passed / counted < 0.99 for passed, counted in direction_rates(reports).values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
