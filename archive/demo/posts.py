"""The demo blog's posts: loading them from Markdown files, the silent correction, text helpers.

A post file is a header of ``key: value`` lines, a blank line, then a body in a tiny Markdown
subset: paragraphs separated by blank lines and ``## `` section headings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

POSTS_DIR = Path(__file__).parent / "posts"
CORRECTIONS_PATH = Path(__file__).parent / "corrections.json"

#: Every post is stamped at this UTC time of day: the files carry dates only.
PUBLISH_TIME = "09:00:00+00:00"

_REQUIRED = ("title", "slug", "date", "author", "standfirst", "category", "tags")
_OPTIONAL = ("modified",)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclasses.dataclass(frozen=True)
class Post:
    """One blog post as written in ``posts/*.md``."""

    slug: str
    """URL segment: the post lives at ``/posts/<slug>/``."""
    title: str
    """Headline, plain text (escaped when rendered)."""
    date: str
    """Publication date, ``YYYY-MM-DD``."""
    author: str
    """Byline, one person's name."""
    standfirst: str
    """The one-sentence summary shown under the headline and used as the description."""
    category: str
    """Section name, e.g. ``Policy``."""
    tags: list[str]
    """Tag names in the order written."""
    body_markdown: str
    """Body in the Markdown subset: paragraphs and ``## `` headings."""
    modified: str | None = None
    """Declared update date, ``YYYY-MM-DD``, or None if the publisher never declared one."""

    @property
    def path(self) -> str:
        """The article's URL path, ``/posts/<slug>/``."""
        return f"/posts/{self.slug}/"

    @property
    def published_at(self) -> str:
        """Publication time, ISO 8601 UTC."""
        return iso_datetime(self.date)

    @property
    def updated_at(self) -> str:
        """Declared modification time if any, else publication time, ISO 8601 UTC."""
        return iso_datetime(self.modified or self.date)


def load_posts(directory: Path | str | None = None) -> list[Post]:
    """Load every ``*.md`` post in ``directory`` (default: the packaged posts), newest first."""
    folder = Path(directory) if directory is not None else POSTS_DIR
    posts = [
        parse_post(path.read_text(encoding="utf-8"), str(path)) for path in folder.glob("*.md")
    ]
    return sort_posts(posts)


def sort_posts(posts: Iterable[Post]) -> list[Post]:
    """Newest first, ties broken by slug, so that every rendering is deterministic."""
    by_slug = sorted(posts, key=lambda post: post.slug)
    return sorted(by_slug, key=lambda post: post.date, reverse=True)


def parse_post(text: str, source: str = "<string>") -> Post:
    """Parse one post file's text; raise ValueError naming ``source`` if the header is wrong."""
    header_text, _, body = text.replace("\r\n", "\n").partition("\n\n")
    fields: dict[str, str] = {}
    for line in header_text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or key not in _REQUIRED + _OPTIONAL:
            raise ValueError(f"{source}: bad header line {line!r}")
        fields[key] = value.strip()
    missing = [key for key in _REQUIRED if not fields.get(key)]
    if missing:
        raise ValueError(f"{source}: missing {', '.join(missing)}")
    for key in ("date", "modified"):
        if fields.get(key):
            dt.date.fromisoformat(fields[key])  # fail early on a malformed date
    return Post(
        slug=fields["slug"],
        title=fields["title"],
        date=fields["date"],
        author=fields["author"],
        standfirst=fields["standfirst"],
        category=fields["category"],
        tags=[tag.strip() for tag in fields["tags"].split(",") if tag.strip()],
        body_markdown=body.strip() + "\n",
        modified=fields.get("modified") or None,
    )


def load_corrections(path: Path | str | None = None) -> dict[str, dict[str, str]]:
    """Read ``corrections.json``: slug -> ``{"old": fragment, "new": fragment}``."""
    data: dict[str, dict[str, str]] = json.loads(
        Path(path or CORRECTIONS_PATH).read_text(encoding="utf-8")
    )
    return data


def apply_corrections(
    posts: Iterable[Post], corrections: Mapping[str, Mapping[str, str]] | None = None
) -> list[Post]:
    """Return the "v2" posts: each correction applied to its post's body, as a silent edit.

    The corrected post keeps its ``date`` and ``modified`` values: the publisher declares nothing.
    Raises ValueError if a fragment is not found exactly once: the demo would then show no edit.
    """
    fixes = load_corrections() if corrections is None else corrections
    result = []
    for post in posts:
        fix = fixes.get(post.slug)
        if fix is not None:
            count = post.body_markdown.count(fix["old"])
            if count != 1:
                raise ValueError(f"{post.slug}: {fix['old']!r} occurs {count} times, expected 1")
            body = post.body_markdown.replace(fix["old"], fix["new"])
            post = dataclasses.replace(post, body_markdown=body, tags=list(post.tags))
        result.append(post)
    return result


def iso_datetime(date: str) -> str:
    """A ``YYYY-MM-DD`` date as an ISO 8601 UTC timestamp at the fixed publish time.

    >>> iso_datetime("2026-07-02")
    '2026-07-02T09:00:00+00:00'
    """
    return f"{dt.date.fromisoformat(date).isoformat()}T{PUBLISH_TIME}"


def human_date(date: str) -> str:
    """The date as the byline shows it, independent of the locale.

    >>> human_date("2026-07-02")
    '02 July 2026'
    """
    day = dt.date.fromisoformat(date)
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def month_label(date: str) -> str:
    """``July 2026`` for any date in that month.

    >>> month_label("2026-07-02")
    'July 2026'
    """
    day = dt.date.fromisoformat(date)
    return f"{_MONTHS[day.month - 1]} {day.year}"


def reading_minutes(markdown: str, words_per_minute: int = 200) -> int:
    """Estimated reading time in whole minutes, at least 1.

    >>> reading_minutes("word " * 401)
    3
    """
    return max(1, math.ceil(len(markdown.split()) / words_per_minute))


def slugify(name: str) -> str:
    """A tag or category name as a URL segment.

    >>> slugify("Right to Repair & <script>")
    'right-to-repair-script'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "untitled"


def markdown_to_html(markdown: str) -> str:
    """Render the Markdown subset: blank-line paragraphs and ``## ``/``### `` headings, escaped.

    >>> markdown_to_html("## A & B\\n\\nOne\\nline.")
    '<h2>A &amp; B</h2>\\n<p>One line.</p>'
    """
    blocks = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        text = " ".join(line.strip() for line in block.splitlines())
        heading = re.match(r"(#{2,3}) (.*)", text)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{html.escape(heading.group(2).strip())}</h{level}>")
        elif text:
            blocks.append(f"<p>{html.escape(text)}</p>")
    return "\n".join(blocks)


def plain_text(markdown: str) -> str:
    """The body as plain text, headings on their own lines (for checks and feeds)."""
    blocks = re.split(r"\n\s*\n", markdown.strip())
    return "\n\n".join(
        re.sub(r"^#{2,3} ", "", " ".join(line.strip() for line in block.splitlines()))
        for block in blocks
    )
