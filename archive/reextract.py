"""Re-extraction: run the current extractor over stored raw bodies.

An extractor upgrade must never look like a publisher's edit. Re-extraction re-derives the
existing versions from the bodies they came from (recording what changed in ``reextractions``);
it never creates a version the publisher did not make.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from w3lib.encoding import html_to_unicode

from archive.extract import ExtractOptions, extract_article
from archive.normalize import content_fingerprint
from archive.revisions import COMPARED_FIELDS, article_columns, changed_fields
from archive.store import read_body, utc_now

if TYPE_CHECKING:
    from sqlite_utils import Database

    from archive.models import Article

logger = logging.getLogger(__name__)


def decode_body(body: bytes, content_type: str | None, encoding: str | None) -> str:
    """Decode a stored body as the crawler did: HTTP charset, then BOM, then ``<meta>``.

    >>> decode_body("café".encode("cp1252"), "text/html; charset=windows-1252", None)
    'café'
    """
    header = content_type or (f"text/html; charset={encoding}" if encoding else None)
    return html_to_unicode(header, body)[1]


def extract_body(
    db: Database, sha256: str, url: str, options: ExtractOptions | None = None
) -> Article | None:
    """Extract the article from a stored body with the current extractor (None if it has none)."""
    row = db.execute(
        "select content_type, encoding from bodies where sha256 = ?", [sha256]
    ).fetchone()
    body = read_body(db, sha256)
    if row is None or body is None:
        return None
    return extract_article(decode_body(body, row[0], row[1]), url, options)


@dataclass
class ReextractReport:
    """What a re-extraction run did."""

    versions: int = 0
    changed: int = 0  # versions whose extracted fields changed
    no_body: int = 0  # versions without a stored body (left as they were)
    failed: int = 0  # bodies the current extractor finds no article in (left as they were)
    now_identical: list[int] = field(default_factory=list)
    """Ids of versions that the current extractor finds identical to the version before them."""


def reextract(
    db: Database,
    *,
    page_ids: list[int] | None = None,
    options: ExtractOptions | None = None,
) -> ReextractReport:
    """Re-extract every version (of ``page_ids``, or of all pages) from its stored body."""
    report = ReextractReport()
    if page_ids is None:
        page_ids = [row[0] for row in db.execute("select id from pages order by id")]
    for page_id in page_ids:
        with db.atomic():
            _reextract_page(db, page_id, options, report)
    return report


def _reextract_page(
    db: Database, page_id: int, options: ExtractOptions | None, report: ReextractReport
) -> None:
    url = db["pages"].get(page_id)["url"]
    previous: dict[str, Any] | None = None
    for version in db["versions"].rows_where("page_id = ?", [page_id], order_by="version"):
        report.versions += 1
        if not version["body_sha256"]:
            report.no_body += 1
            previous = version
            continue
        article = extract_body(db, version["body_sha256"], url, options)
        if article is None:
            report.failed += 1
            previous = version
            continue
        updated = _updated_row(version, article, previous)
        fields = [
            name
            for name in (*COMPARED_FIELDS, "extractor")
            if updated.get(name) != version.get(name)
        ]
        if fields or updated["content_hash"] != version["content_hash"]:
            report.changed += 1
            db["versions"].update(version["id"], updated)
            db["reextractions"].insert(
                {
                    "version_id": version["id"],
                    "reextracted_at": utc_now(),
                    "extractor_before": version["extractor"],
                    "extractor_after": article.extractor,
                    "content_hash_before": version["content_hash"],
                    "content_hash_after": updated["content_hash"],
                    "fields_changed": json.dumps(fields),
                },
            )
        if previous is not None and previous["content_hash"] == updated["content_hash"]:
            report.now_identical.append(version["id"])
        previous = {**version, **updated}


def _updated_row(
    version: dict[str, Any], article: Article, previous: dict[str, Any] | None
) -> dict[str, Any]:
    from archive.diff import word_changes

    row: dict[str, Any] = {"content_hash": content_fingerprint(article), **article_columns(article)}
    if previous is None:
        row.update(words_added=row["word_count"], words_removed=0)
    else:
        added, removed = word_changes(previous["text"] or "", article.text or "")
        row.update(
            words_added=added,
            words_removed=removed,
            changed_fields=json.dumps(changed_fields(previous, {**version, **row})),
        )
    return row
