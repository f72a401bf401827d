"""Normalisation and fingerprints: what counts as the same article text.

Two captures are the same version when their normalised title, byline, text and detection text
(the headlines and bylines the page declares, the prose of its article region) are equal, so that
a page re-served with typographic quotes, a non-breaking space, re-flowed whitespace, a new
"5 minutes ago" or a new view count is not an edit.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archive.models import Article

# Typographic punctuation that CMSs swap freely (smart quotes, dashes, ellipsis) → one plain form.
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)
# The same mapping as a pattern: re finds the few such characters in C, where str.translate with
# a mapping looks up every character of the text in a dict (15× slower on a long article).
_PUNCTUATION_CHARS = re.compile("[" + "".join(chr(code) for code in _PUNCTUATION) + "]")
# What changes with every page view rather than with the article.
_RELATIVE_TIME = re.compile(
    r"(?:\b(?:last\s+)?(?:updated|published|posted|edited)\s*:?\s*)?"
    r"(?:(?:\b\d+|\ban?|\bone|\b(?:a\s+)?few)\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?"
    r"|days?|weeks?|months?|years?|yrs?|[smhdwy])\s+ago\b|\bjust\s+now\b|\bmoments?\s+ago\b)",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    r"\b\d[\d,.]*\s*[km]?\+?\s*(?:views?|comments?|shares?|reads?|likes?|responses?|replies"
    r"|reactions?|retweets?|votes?)\b"
    r"|\b(?:views?|comments?|shares?|responses?|replies)\s*(?::\s*|\(\s*)\d[\d,.]*[km]?\)?",
    re.IGNORECASE,
)
VOLATILE_MAX_WORDS = 12
"""Only lines this short lose their relative times and counters: longer lines are prose."""

FINGERPRINT_FIELDS = ("title", "author", "text", "detection_text")


def normalize_text(value: str | None) -> str:
    """Normalise text for comparison: NFC, plain quotes and dashes, collapsed whitespace.

    Paragraph breaks survive (one per line); blank lines and edge whitespace do not.

    >>> normalize_text("  \u201cHello\u201d\u00a0 world \u2014 again\\n\\n\\nNext  para ")
    '"Hello" world - again\\nNext para'
    """
    if not value:
        return ""
    value = _PUNCTUATION_CHARS.sub(_plain_punctuation, unicodedata.normalize("NFC", value))
    # str.split() splits on the whitespace runs regex's \s matches, and drops them at the ends.
    lines = (" ".join(line.split()) for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def _plain_punctuation(match: re.Match[str]) -> str:
    return _PUNCTUATION[ord(match.group())] or ""


def strip_volatile(text: str) -> str:
    """Remove relative times and counters from the short lines of ``text``; drop emptied lines.

    >>> strip_volatile("By Ann, updated 5 minutes ago\\n1,204 views\\nIt began 3 hours ago, said a "
    ...                "neighbour who watched the fire from across the street.").splitlines()
    ['By Ann,', 'It began 3 hours ago, said a neighbour who watched the fire from across the street.']
    """
    lines = []
    for line in text.split("\n"):
        if len(line.split()) <= VOLATILE_MAX_WORDS:
            stripped = _COUNTER.sub(" ", _RELATIVE_TIME.sub(" ", line))
            if stripped != line:
                line = " ".join(stripped.split())
                if not line:
                    continue
        lines.append(line)
    return "\n".join(lines)


def fingerprint(
    title: str | None, author: str | None, text: str | None, detection: str | None = None
) -> str:
    """SHA-256 of the normalised title, byline and text: equal iff the article did not change.

    Relative times and counters on short lines do not count. ``detection``, when given, is compared
    in place of ``text`` (see ``Article.detection_text``: it holds the text's lines too, placed in
    the page, plus the headlines and bylines the page declares).

    >>> fingerprint("A title", "Ann", "Text") == fingerprint("A  title", "Ann ", "Text\\n")
    True
    >>> fingerprint("T", "A", "Text\\n3 comments") == fingerprint("T", "A", "Text\\n4 comments")
    True
    """
    fields = {
        "title": normalize_text(title),
        "author": normalize_text(author),
        "text": strip_volatile(normalize_text(detection or text)),
    }
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_fingerprint(article: Article) -> str:
    """The fingerprint that decides whether a capture is a new version of its article."""
    return fingerprint(article.title, article.author, article.text, article.detection_text)


def word_count(text: str | None) -> int:
    """Number of whitespace-separated words.

    >>> word_count("one two\\nthree")
    3
    """
    return len(text.split()) if text else 0
