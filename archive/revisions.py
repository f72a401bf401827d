"""What differs between two versions of an article: compared fields, silent edits."""

from __future__ import annotations

import json
import re
from typing import Any

from archive.models import Article
from archive.normalize import normalize_text, word_count

# Fields compared between consecutive versions to fill ``versions.changed_fields``.
COMPARED_FIELDS = (
    "title",
    "author",
    "text",
    "published_at",
    "modified_at",
    "description",
    "language",
    "tags",
    "categories",
    "image",
    "canonical_url",
)
_NORMALISED_FIELDS = {"title", "author", "text", "description"}


def article_columns(article: Article) -> dict[str, Any]:
    """The ``versions`` columns that come from extraction (what re-extraction re-derives)."""
    return {
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at,
        "modified_at": article.modified_at,
        "description": article.description,
        "site_name": article.site_name,
        "language": article.language,
        "tags": json.dumps(article.tags, ensure_ascii=False),
        "categories": json.dumps(article.categories, ensure_ascii=False),
        "canonical_url": article.canonical_url,
        "image": article.image,
        "text": article.text,
        "word_count": word_count(article.text),
        "extractor": article.extractor,
    }


_UPDATE_NOTICE = re.compile(
    r"\b(updated|update:|correction|corrected|clarification|editor'?s note|this (article|story|post)"
    r" (has been|was) (updated|amended|changed)|an earlier version of this)",
    re.IGNORECASE,
)


def is_silent_edit(old: dict[str, Any], new: dict[str, Any], changed: list[str]) -> bool:
    """A text edit with no sign of it: the declared modification date and any visible update
    notice are the same as before.

    >>> old = {"text": "A.", "modified_at": "2026-07-02"}
    >>> is_silent_edit(old, {"text": "B.", "modified_at": "2026-07-02"}, ["text"])
    True
    >>> is_silent_edit(old, {"text": "B. Correction: we said A.", "modified_at": "2026-07-02"}, ["text"])
    False
    >>> is_silent_edit(old, {"text": "B.", "modified_at": "2026-07-05"}, ["text", "modified_at"])
    False
    """
    if "text" not in changed or "modified_at" in changed:
        return False
    notices_before = len(_UPDATE_NOTICE.findall(old.get("text") or ""))
    return len(_UPDATE_NOTICE.findall(new.get("text") or "")) <= notices_before


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of the compared fields whose (normalised) values differ between two version rows.

    >>> changed_fields({"title": "A", "text": "x"}, {"title": "A ", "text": "y"})
    ['text']
    """
    changed = []
    for name in COMPARED_FIELDS:
        a, b = old.get(name), new.get(name)
        if name in _NORMALISED_FIELDS:
            a, b = normalize_text(a), normalize_text(b)
        elif name in ("tags", "categories"):
            a, b = a or "[]", b or "[]"
        if a != b:
            changed.append(name)
    return changed
