"""An Atom feed of edits: subscribe to an archive and be told when an article is rewritten.

Each entry is one new version (2 and later) and carries its diff. The diff HTML escapes every
piece of page text (``archive.diff``), and ElementTree escapes it again as XML text, so a feed
reader shows ``<ins>``/``<del>`` marks and nothing from the page can run.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from archive.diff import diff_html
from archive.urls import is_http_url

ATOM = "http://www.w3.org/2005/Atom"
FEED_LIMIT = 50
# The versions an edits feed lists, newest first, each with the text of the version before it.
EDITS_SQL = """
    select v.id, v.page_id, v.version, v.captured_at, v.title, v.author, v.text,
           v.words_added, v.words_removed, v.changed_fields, v.silent_edit,
           p.url, prev.text as previous_text, prev.title as previous_title
    from versions v
    join pages p on p.id = v.page_id
    join versions prev on prev.page_id = v.page_id and prev.version = v.version - 1
    where v.version > 1
      and (:page_id is null or v.page_id = :page_id)
      and (:silent = 0 or v.silent_edit = 1)
    order by v.captured_at desc, v.id desc
    limit :limit
"""


@dataclass(frozen=True)
class FeedInfo:
    """Where the feed and its entries live."""

    title: str
    feed_url: str
    base_url: str  # prefix of /-/diff/... links, e.g. "http://127.0.0.1:8001"


def edits_feed(rows: list[dict[str, Any]], info: FeedInfo) -> bytes:
    """An Atom document with one entry per edited version in ``rows`` (see ``EDITS_SQL``)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", info.title)
    _text(feed, "id", info.feed_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=info.feed_url)
    _text(feed, "updated", rows[0]["captured_at"] if rows else "1970-01-01T00:00:00Z")
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", "Palimpsest")
    for row in rows:
        feed.append(_entry(row, info))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(row: dict[str, Any], info: FeedInfo) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    link = f"{info.base_url}/-/diff/{row['page_id']}/{row['version'] - 1}/{row['version']}"
    fields = json.loads(row["changed_fields"] or "[]")
    silent = bool(row["silent_edit"])
    _text(entry, "title", f"{'Silent edit' if silent else 'Edited'}: {row['title'] or row['url']}")
    _text(entry, "id", f"{info.base_url}/-/diff/{row['page_id']}/{row['version']}")
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=link)
    if is_http_url(row["url"]):  # a page URL is data from the web: never a javascript: link
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=row["url"])
    _text(entry, "updated", row["captured_at"])
    if row["author"]:
        _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", row["author"])
    for term in [*fields, *(["silent-edit"] if silent else [])]:
        ET.SubElement(entry, f"{{{ATOM}}}category", term=term)
    summary = (
        f"Version {row['version']} of {row['url']}: +{row['words_added']} / "
        f"-{row['words_removed']} words; changed: {', '.join(fields) or 'nothing visible'}"
        f"{'; no update notice or new modification date' if silent else ''}."
    )
    _text(entry, "summary", summary)
    diff = diff_html(row["previous_text"] or "", row["text"] or "")["diff"]
    title_change = ""
    if "title" in fields:
        old, new = (_escape(row["previous_title"]), _escape(row["title"]))
        title_change = f"<p>Headline: <del>{old}</del> → <ins>{new}</ins></p>"
    content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
    content.text = title_change + diff
    return entry


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = value
    return element


def _escape(value: str | None) -> str:
    from html import escape

    return escape(value or "", quote=True)
