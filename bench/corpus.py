"""The corpus pages as post templates: where each post's unique title and sentence go.

A post is a corpus page with small changes, so that every post has its own body and its own
extracted text: a suffix in ``<title>``, its own ``og:url`` (the page's ``rel=canonical`` and
``og:url`` are removed) and a sentence at the start of the article's first paragraph. Templates
are cut once; a post is then a join of a few byte strings.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from tests.corpus_blog import CorpusPage, load_corpus, page_title, strip_identity

_P_OPEN = re.compile(r"<p\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_TITLE_END = re.compile(r"</title\s*>", re.IGNORECASE)
_LAST_TAG = re.compile(r"<(/?\w+)")
# Tags a text node of the article body may follow (for pages whose paragraphs are not <p>).
_TEXT_PARENTS = {"p", "div", "span", "br", "td", "li", "em", "b", "strong", "font", "/a", "/b"}
_MARKER = re.compile(r"Benchmark post (\d+) (?:says hello|was revised)\. ?")


@dataclass(frozen=True)
class Template:
    """A corpus page cut at the two places a post differs from it."""

    index: int
    """Position of the page in the corpus (sorted by id)."""
    head: bytes
    """Up to the end of the ``<title>`` text."""
    title_close: bytes
    """The ``</title>`` tag; the post's ``og:url`` goes after it."""
    middle: bytes
    """From after ``</title>`` to where the post's sentence goes."""
    tail: bytes
    """The rest of the page."""
    title: str
    truth: str
    """The article text as a person marked it (ground truth)."""


def marker(post: int, edited: bool) -> str:
    """The sentence that makes post ``post`` unique (a different one once it is edited).

    >>> marker(7, False), marker(7, True)
    ('Benchmark post 7 says hello. ', 'Benchmark post 7 was revised. ')
    """
    return f"Benchmark post {post} {'was revised' if edited else 'says hello'}. "


def strip_marker(text: str) -> str:
    """Text without the benchmark's sentence, to score it against the corpus ground truth.

    >>> strip_marker("Benchmark post 7 was revised. It rained.")
    'It rained.'
    """
    return _MARKER.sub("", text or "")


def marked_post(text: str) -> int | None:
    """The post whose sentence the text holds, if any.

    >>> marked_post("Intro. Benchmark post 12 says hello. More."), marked_post("none")
    (12, None)
    """
    match = _MARKER.search(text)
    return int(match.group(1)) if match else None


def _in_script(lower_html: str, pos: int) -> bool:
    """Whether ``pos`` is inside a ``<script>`` (JSON-LD and app state quote the article too)."""
    opened = lower_html.rfind("<script", 0, pos)
    return opened >= 0 and lower_html.find("</script", opened) > pos


def _first_paragraph(page_html: str, truth: str, start: int) -> int | None:
    """Offset just inside the ``<p>`` that starts the ground truth's first paragraphs.

    Failing that, inside the first ``<p>`` whose opening words are anywhere in the ground truth.
    """
    lower = page_html.lower()
    openings = [" ".join(line.split()[:6]) for line in truth.splitlines() if len(line.split()) >= 6]
    words_of_truth = " ".join(truth.split())
    anywhere = None
    for match in _P_OPEN.finditer(page_html, start):
        end = page_html.find("</p", match.end())
        if end < 0 or _in_script(lower, match.start()):
            continue
        words = html.unescape(_TAG.sub(" ", page_html[match.end() : end])).split()
        opening = " ".join(words[:6])
        if len(words) >= 6 and opening in openings[:3]:
            return match.end()
        if anywhere is None and len(words) >= 6 and opening in words_of_truth:
            anywhere = match.end()
    return anywhere


def _first_truth_text(page_html: str, truth: str, start: int) -> int | None:
    """Offset of the first paragraph of the ground truth found verbatim in a text node."""
    lower = page_html.lower()
    for line in truth.splitlines():
        words = line.split()
        if len(words) < 5:
            continue
        phrase = " ".join(words[:4])
        pos = page_html.find(phrase, start)
        while pos >= 0:
            tags = _LAST_TAG.findall(page_html, max(0, pos - 3000), pos)
            if tags and tags[-1].lower() in _TEXT_PARENTS and not _in_script(lower, pos):
                return pos
            pos = page_html.find(phrase, pos + 1)
    return None


def make_template(index: int, page: CorpusPage) -> Template:
    """Cut one corpus page (canonical and og:url tags removed) into a post template."""
    page_html = strip_identity(page.html)
    title_end = _TITLE_END.search(page_html)
    if title_end is None:
        raise ValueError(f"corpus page {page.id} has no <title>")
    cut = title_end.start()
    at = _first_paragraph(page_html, page.truth, cut) or _first_truth_text(
        page_html, page.truth, cut
    )
    if at is None:
        raise ValueError(f"corpus page {page.id} has no paragraph of its article text")
    return Template(
        index=index,
        head=page_html[:cut].encode(),
        title_close=title_end.group(0).encode(),
        middle=page_html[title_end.end() : at].encode(),
        tail=page_html[at:].encode(),
        title=page_title(page.html),
        truth=page.truth,
    )


def load_templates() -> list[Template]:
    """Every corpus page as a template, in corpus order."""
    return [make_template(i, page) for i, page in enumerate(load_corpus())]
