"""The demo blog, "Lanternfield Review": renders the posts to a complete static site and serves it.

``render_site()`` returns ``{path: (content_type, body)}`` for the home page, pagination, articles,
category/tag listings, about, archive, RSS/Atom/JSON feeds, sitemaps, robots.txt and the stylesheet.
``serve_blog()`` binds a ``SiteServer`` first (the pages hold absolute URLs), then renders into it.
Only the standard library is used, so the CLI's ``palimpsest demo`` needs no Scrapy reactor.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archive.demo import feeds
from archive.demo.layout import (
    SiteContext,
    byline,
    esc,
    group_posts,
    layout,
    meta,
    page_path,
    pagination,
    post_card,
)
from archive.demo.posts import (
    Post,
    human_date,
    markdown_to_html,
    month_label,
    slugify,
    sort_posts,
)
from archive.demo.server import Pages, SiteServer

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


SITE_NAME = "Lanternfield Review"
TAGLINE = "Technology, infrastructure and the rules that govern them."
HTML_TYPE = "text/html; charset=utf-8"
STYLE_PATH = Path(__file__).parent / "style.css"


def related_posts(post: Post, posts: Sequence[Post], count: int = 3) -> list[Post]:
    """The ``count`` other posts sharing most tags and the category; newer first on ties."""
    others = sort_posts(other for other in posts if other.slug != post.slug)

    def score(other: Post) -> int:
        return 2 * (other.category == post.category) + len(set(other.tags) & set(post.tags))

    return sorted(others, key=score, reverse=True)[:count]  # stable: keeps newest-first on ties


def _article_page(site: SiteContext, post: Post) -> bytes:
    url = site.url(post.path)
    tags = "\n".join(
        f'<a rel="tag" href="{site.url("/tag/" + slugify(tag) + "/")}">{esc(tag)}</a>'
        for tag in post.tags
    )
    related = "".join(
        f'<li><a href="{site.url(other.path)}">{esc(other.title)}</a></li>'
        for other in related_posts(post, site.posts)
    )
    category_url = site.url(f"/category/{slugify(post.category)}/")
    main = (
        f'<a class="back" href="{site.url("/")}">← Blog</a>\n'
        "<article>\n<header>\n"
        f'<p class="kicker"><a href="{category_url}">{esc(post.category)}</a></p>\n'
        f"<h1>{esc(post.title)}</h1>\n"
        f'<p class="standfirst">{esc(post.standfirst)}</p>\n'
        f"{byline(post)}\n</header>\n"
        f'<div class="entry-content">\n{markdown_to_html(post.body_markdown)}\n</div>\n'
        f'<footer class="tags">Tags: {tags}</footer>\n</article>\n'
        f'<aside class="related">\n<h2>Related posts</h2>\n<ul>{related}</ul>\n</aside>'
    )
    extra = [meta("name", "author", post.author)]
    extra.append(meta("property", "article:published_time", post.published_at))
    if post.modified:
        extra.append(meta("property", "article:modified_time", post.updated_at))
    extra.append(meta("property", "article:section", post.category))
    extra += [meta("property", "article:tag", tag) for tag in post.tags]
    json_ld = {
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.standfirst,
        "author": {"@type": "Person", "name": post.author},
        "datePublished": post.published_at,
        "dateModified": post.updated_at,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "articleSection": post.category,
        "keywords": post.tags,
        "publisher": {"@type": "Organization", "name": site.name},
    }
    return layout(
        site,
        title=f"{post.title} | {site.name}",
        path=post.path,
        og_type="article",
        description=post.standfirst,
        main=main,
        json_ld=json_ld,
        extra_head=extra,
        headline=post.title,
    )


def _listing_page(
    site: SiteContext,
    *,
    path: str,
    heading: str,
    intro: str,
    posts: Sequence[Post],
    pagination: str = "",
    kind: str = "CollectionPage",
) -> bytes:
    cards = "\n".join(post_card(site, post) for post in posts)
    main = f'<h1>{esc(heading)}</h1>\n<p class="standfirst">{esc(intro)}</p>\n{cards}{pagination}'
    title = site.name if path == "/" else f"{heading} | {site.name}"
    json_ld = {"@type": kind, "name": title, "url": site.url(path), "description": intro}
    if kind != "Blog":
        json_ld["isPartOf"] = {"@type": "Blog", "name": site.name, "url": site.url("/")}
    return layout(
        site,
        title=title,
        path=path,
        description=intro,
        main=main,
        og_type="website",
        json_ld=json_ld,
    )


def _archive_page(site: SiteContext) -> bytes:
    months: dict[str, list[Post]] = {}
    for post in site.posts:
        months.setdefault(month_label(post.date), []).append(post)
    sections = []
    for label, posts in months.items():
        items = "".join(
            f'<li><time datetime="{post.date}">{human_date(post.date)}</time> '
            f'<a href="{site.url(post.path)}">{esc(post.title)}</a></li>'
            for post in posts
        )
        sections.append(f"<h2>{esc(label)}</h2>\n<ul>{items}</ul>")
    intro = f"Every post on {site.name}, newest first."
    main = "<h1>Archive</h1>\n" + f'<p class="standfirst">{esc(intro)}</p>\n' + "\n".join(sections)
    json_ld = {"@type": "CollectionPage", "name": "Archive", "url": site.url("/archive/")}
    return layout(
        site,
        title=f"Archive | {site.name}",
        path="/archive/",
        description=intro,
        main=main,
        og_type="website",
        json_ld=json_ld,
    )


def _about_page(site: SiteContext) -> bytes:
    authors = sorted({post.author for post in site.posts})
    main = (
        f"<h1>About {esc(site.name)}</h1>\n"
        f"<p>{esc(site.name)} writes about technology, infrastructure and public policy:"
        " export rules, repair rights, broadband, transparency and the records institutions"
        " keep.</p>\n<p>The publication is fictional. It exists so that Palimpsest, a tool that"
        " archives every revision of news and blog articles, has a small site to crawl in its"
        " demo and tests.</p>\n"
        f"<h2>Writers</h2>\n<ul>{''.join(f'<li>{esc(name)}</li>' for name in authors)}</ul>"
    )
    json_ld = {"@type": "AboutPage", "name": f"About {site.name}", "url": site.url("/about/")}
    return layout(
        site,
        title=f"About | {site.name}",
        path="/about/",
        description=TAGLINE,
        main=main,
        og_type="website",
        json_ld=json_ld,
    )


def _private_page(site: SiteContext) -> bytes:
    # Disallowed in robots.txt but linked from the footer: a polite crawler never fetches it.
    main = "<h1>Drafts</h1>\n<p>Staff only. Unpublished drafts live here.</p>"
    return layout(
        site,
        title=f"Drafts | {site.name}",
        path="/private/",
        description="Drafts.",
        main=main,
        og_type="website",
        json_ld={"@type": "WebPage", "name": "Drafts"},
        extra_head=['<meta name="robots" content="noindex, nofollow">'],
    )


def render_site(
    posts: Iterable[Post], *, site_name: str, base_url: str, per_page: int = 3
) -> dict[str, tuple[str, bytes]]:
    """Render the whole blog: URL path -> (content type, body bytes).

    Args:
        posts: the posts, in any order (pages list them newest first).
        site_name: shown in headers, titles and feeds.
        base_url: scheme, host and port, e.g. ``http://127.0.0.1:8123``; every link is absolute.
        per_page: posts per home/pagination page.
    """
    site = SiteContext(name=site_name, base=base_url.rstrip("/"), posts=sort_posts(posts))
    pages: Pages = {}
    chunks = [site.posts[i : i + per_page] for i in range(0, len(site.posts), per_page)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        heading = site.name if number == 1 else f"{site.name}, page {number}"
        pages[page_path(number)] = (
            HTML_TYPE,
            _listing_page(
                site,
                path=page_path(number),
                heading=heading,
                intro=TAGLINE,
                posts=chunk,
                pagination=pagination(site, number, len(chunks)),
                kind="Blog" if number == 1 else "CollectionPage",
            ),
        )
    for post in site.posts:
        pages[post.path] = (HTML_TYPE, _article_page(site, post))
    for kind, names in (("category", lambda p: [p.category]), ("tag", lambda p: p.tags)):
        for slug, (name, members) in group_posts(site.posts, names).items():
            path = f"/{kind}/{slug}/"
            intro = f"Posts {'in' if kind == 'category' else 'tagged'} {name}."
            pages[path] = (
                HTML_TYPE,
                _listing_page(site, path=path, heading=name, intro=intro, posts=members),
            )
    pages["/archive/"] = (HTML_TYPE, _archive_page(site))
    pages["/about/"] = (HTML_TYPE, _about_page(site))
    pages["/private/"] = (HTML_TYPE, _private_page(site))
    feed_args = {"site_name": site.name, "base_url": site.base, "description": TAGLINE}
    pages["/feed.xml"] = (feeds.RSS_TYPE, feeds.rss_feed(site.posts, **feed_args))
    pages["/atom.xml"] = (feeds.ATOM_TYPE, feeds.atom_feed(site.posts, **feed_args))
    pages["/feed.json"] = (feeds.JSON_FEED_TYPE, feeds.json_feed(site.posts, **feed_args))
    pages.update(feeds.sitemaps(site.posts, base_url=site.base))
    pages["/robots.txt"] = ("text/plain; charset=utf-8", feeds.robots_txt(site.base))
    pages["/style.css"] = ("text/css; charset=utf-8", STYLE_PATH.read_bytes())
    return dict(sorted(pages.items()))


def serve_blog(
    posts: Iterable[Post], site_name: str = SITE_NAME, port: int = 0, per_page: int = 3
) -> SiteServer:
    """Bind a SiteServer on 127.0.0.1, render ``posts`` with its base URL and serve them.

    ``server.publish_posts(new_posts)`` later re-renders with the same base URL and options.
    Close the server (``with serve_blog(posts) as server: ...``) to release the socket.
    """

    def renderer(posts: Sequence[Post], base_url: str) -> Pages:
        return render_site(posts, site_name=site_name, base_url=base_url, per_page=per_page)

    server = SiteServer(port=port, renderer=renderer)
    server.publish_posts(list(posts))
    return server
