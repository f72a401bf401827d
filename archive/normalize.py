"""Normalisation and fingerprints: what counts as the same article text.

Two captures are the same version when their normalised title, byline and text are equal, so that
a page re-served with typographic quotes, a non-breaking space or re-flowed whitespace is not an edit.
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
_SPACES = re.compile(r"[^\S\n]+")

FINGERPRINT_FIELDS = ("title", "author", "text")


def normalize_text(value: str | None) -> str:
    """Normalise text for comparison: NFC, plain quotes and dashes, collapsed whitespace.

    Paragraph breaks survive (one per line); blank lines and edge whitespace do not.

    >>> normalize_text("  \u201cHello\u201d\u00a0 world \u2014 again\\n\\n\\nNext  para ")
    '"Hello" world - again\\nNext para'
    """
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value).translate(_PUNCTUATION)
    lines = (_SPACES.sub(" ", line).strip() for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def fingerprint(title: str | None, author: str | None, text: str | None) -> str:
    """SHA-256 of the normalised title, byline and text: equal iff the article did not change.

    >>> fingerprint("A title", "Ann", "Text") == fingerprint("A  title", "Ann ", "Text\\n")
    True
    """
    fields = {
        "title": normalize_text(title),
        "author": normalize_text(author),
        "text": normalize_text(text),
    }
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_fingerprint(article: Article) -> str:
    """The fingerprint that decides whether a capture is a new version of its article."""
    return fingerprint(article.title, article.author, article.text)


def word_count(text: str | None) -> int:
    """Number of whitespace-separated words.

    >>> word_count("one two\\nthree")
    3
    """
    return len(text.split()) if text else 0
