"""Shared HTML pieces of the demo blog: the page layout, header, footer, bylines and post cards.

Every string that comes from a post goes through ``html.escape``; JSON-LD is escaped so that no
value can close its ``<script>`` element.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.demo.feeds import last_update
from archive.demo.posts import human_date, reading_minutes, slugify

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from archive.demo.posts import Post

esc = html.escape
ALTERNATES = (
    ("application/rss+xml", "RSS", "/feed.xml"),
    ("application/atom+xml", "Atom", "/atom.xml"),
    ("application/feed+json", "JSON Feed", "/feed.json"),
)


@dataclass(frozen=True)
class SiteContext:
    """What every page template needs to know about the site."""

    name: str
    base: str  # base URL without trailing slash
    posts: list[Post]  # newest first

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.base + path


def json_ld_script(data: dict[str, Any]) -> str:
    """A schema.org JSON-LD ``<script>`` element for ``data``."""
    # Escape <, > and & so that no string in the data can close the <script> element.
    text = json.dumps({"@context": "https://schema.org", **data}, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/ld+json">{text}</script>'


def meta(attr: str, key: str, value: str) -> str:
    """``<meta {attr}="{key}" content="{value}">``, escaped."""
    return f'<meta {attr}="{esc(key)}" content="{esc(value)}">'


def layout(
    site: SiteContext,
    *,
    title: str,
    path: str,
    description: str,
    main: str,
    og_type: str,
    json_ld: dict[str, Any],
    extra_head: Sequence[str] = (),
    headline: str | None = None,
) -> bytes:
    """Wrap ``main`` in the site's head, header and footer.

    ``title`` goes in ``<title>``; ``og:title`` gets ``headline`` (the bare article title) if given.
    """
    url = site.url(path)
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f'<link rel="canonical" href="{esc(url)}">',
        meta("name", "description", description),
        meta("property", "og:site_name", site.name),
        meta("property", "og:type", og_type),
        meta("property", "og:title", headline or title),
        meta("property", "og:description", description),
        meta("property", "og:url", url),
        *extra_head,
        f'<link rel="stylesheet" href="{site.url("/style.css")}">',
        *(
            f'<link rel="alternate" type="{kind}" title="{esc(site.name)} ({label})"'
            f' href="{site.url(path)}">'
            for kind, label, path in ALTERNATES
        ),
        json_ld_script(json_ld),
    ]
    page = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        *head,
        "</head>",
        "<body>",
        site_header(site),
        f"<main>\n{main}\n</main>",
        site_footer(site),
        "</body>",
        "</html>",
    ]
    return ("\n".join(page) + "\n").encode()


def site_header(site: SiteContext) -> str:
    """The masthead: site name, navigation and the "Subscribe" button."""
    return (
        '<header class="site-header">\n'
        f'<a class="site-name" href="{site.url("/")}">{esc(site.name)}</a>\n'
        '<nav class="site-nav">\n'
        f'<a href="{site.url("/archive/")}">Archive</a>\n'
        f'<a href="{site.url("/about/")}">About</a>\n'
        f'<a class="subscribe" href="{site.url("/feed.xml")}">Subscribe</a>\n'
        "</nav>\n</header>"
    )


def site_footer(site: SiteContext) -> str:
    """The footer: navigation to every section, feeds, sitemap, copyright."""
    categories = group_posts(site.posts, lambda post: [post.category])
    links = [("/", "Home"), ("/archive/", "Archive"), ("/about/", "About")]
    links += [(f"/category/{slug}/", name) for slug, (name, _) in categories.items()]
    links += [("/feed.xml", "RSS"), ("/atom.xml", "Atom"), ("/feed.json", "JSON Feed")]
    links += [("/sitemap.xml", "Sitemap"), ("/private/", "Staff")]
    # Separators keep the words apart when a text extractor flattens the navigation.
    nav = "\n".join(f'<a href="{site.url(path)}">{esc(label)}</a>' for path, label in links)
    year = last_update(site.posts)[:4]
    return (
        f'<footer class="site-footer">\n<nav>{nav}</nav>\n'
        f"<p>© {year} {esc(site.name)}. A fictional publication: the sample site of Palimpsest.</p>"
        "\n</footer>"
    )


def group_posts(
    posts: Iterable[Post], names: Callable[[Post], list[str]]
) -> dict[str, tuple[str, list[Post]]]:
    """Group posts by the slug of each name ``names(post)`` yields: slug -> (label, posts)."""
    groups: dict[str, tuple[str, list[Post]]] = {}
    for post in posts:
        for name in names(post):
            groups.setdefault(slugify(name), (name, []))[1].append(post)
    return dict(sorted(groups.items()))


def byline(post: Post) -> str:
    """The ``02 July 2026 · 2 min read · By Name`` line, plus "Updated" if the post declares it."""
    parts = [
        f'<time datetime="{post.published_at}">{human_date(post.date)}</time>',
        f"{reading_minutes(post.body_markdown)} min read",
        f'By <span class="author">{esc(post.author)}</span>',
    ]
    if post.modified:
        parts.append(
            f'Updated <time datetime="{post.updated_at}">{human_date(post.modified)}</time>'
        )
    return '<p class="meta">' + " · ".join(parts) + "</p>"


def post_card(site: SiteContext, post: Post) -> str:
    """One post's teaser on a listing page."""
    return (
        '<article class="post-card">\n'
        f'<p class="kicker"><a href="{site.url("/category/" + slugify(post.category) + "/")}">'
        f"{esc(post.category)}</a></p>\n"
        f'<h2><a href="{site.url(post.path)}">{esc(post.title)}</a></h2>\n'
        f'<p class="standfirst">{esc(post.standfirst)}</p>\n'
        f"{byline(post)}\n</article>"
    )


def page_path(number: int) -> str:
    """Page 1 is the home page; the others live under ``/page/N/``."""
    return "/" if number == 1 else f"/page/{number}/"


def pagination(site: SiteContext, number: int, total: int) -> str:
    """Newer/older and numbered links between the home page and ``/page/N/``."""
    if total == 1:
        return ""
    links = []
    if number > 1:
        links.append(f'<a rel="prev" href="{site.url(page_path(number - 1))}">← Newer posts</a>')
    for n in range(1, total + 1):
        current = ' aria-current="page"' if n == number else ""
        links.append(f'<a href="{site.url(page_path(n))}"{current}>{n}</a>')
    if number < total:
        links.append(f'<a rel="next" href="{site.url(page_path(number + 1))}">Older posts →</a>')
    return '\n<nav class="pagination">\n' + "\n".join(links) + "\n</nav>"
