"""What a worker process does with a fetched page: one parse, then classify and extract from it.

Runs in the extraction workers (``scraper.workers``), so it must not import Scrapy: a worker
that imports only this module starts in a fraction of the memory. The spider hands over the
decoded page; the worker parses it once, and from that one tree decides whether it is an article
(``classify_page``), reads its canonical URL and feed links, and extracts the article.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scraper.discovery import canonical_url, classify_page, feed_links_in_html

if TYPE_CHECKING:
    from archive.models import Article, ExtractOptions


class ExtractionTimeout(BaseException):
    """A page took longer than EXTRACT_TIMEOUT to analyse.

    A BaseException, so that the ``except Exception`` blocks inside the extraction libraries
    cannot swallow it and carry on past the deadline.
    """


@dataclass(frozen=True)
class PageTask:
    """What the spider asks of a worker for one page."""

    html: str
    """The page decoded to text (header charset, BOM, ``<meta>``; never raw bytes)."""
    url: str
    """The URL the page was fetched from (after redirects)."""
    via: str | None
    """How the page was found, to classify it; None when it is known to be an article."""
    want_feeds: bool = False
    """Also list the feeds it announces (the start page of a site)."""
    extract: bool = True
    """Extract the article when the page is one (False: its body is already archived)."""


@dataclass
class PageAnalysis:
    """What a worker learnt from one page."""

    is_article: bool
    reason: str
    """Why it is (or is not) an article: ``json-ld``, ``og:type``, ``listing-url``…"""
    page_url: str
    """The page's canonical URL when it names the same site, else its own URL."""
    feeds: list[str] = field(default_factory=list)
    article: Article | None = None
    parsed: bool = True
    """False when the page could not be parsed as HTML at all."""


def analyze_page(task: PageTask, options: ExtractOptions, timeout: float) -> PageAnalysis:
    """Classify and extract one page, interrupted by SIGALRM once ``timeout`` seconds pass.

    Raises ExtractionTimeout when the deadline passes (the parent records a failed extraction).
    """
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        return _analyze(task, options)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _analyze(task: PageTask, options: ExtractOptions) -> PageAnalysis:
    # Imported here, not at the top: the crawler imports this module for PageTask and should not
    # pay for importing trafilatura (0.1 s of every recrawl's start-up). The workers' forkserver
    # preloads archive.extract, so in a worker this is a dictionary lookup.
    from archive.extract import extract_from_tree, parse_page

    tree = parse_page(task.html)
    if tree is None:
        return PageAnalysis(False, "not-html", task.url, parsed=False)
    if task.via is None:
        is_article, reason = True, "archived"  # it was an article when it was archived
    else:
        is_article, reason = classify_page(tree, task.url, task.via)
    analysis = PageAnalysis(is_article, reason, canonical_url(tree, task.url))
    if task.want_feeds:
        analysis.feeds = feed_links_in_html(tree, task.url)
    if is_article and task.extract:
        analysis.article = extract_from_tree(tree, task.html, task.url, options)
    return analysis


def _on_alarm(signum: int, frame: Any) -> None:
    raise ExtractionTimeout
