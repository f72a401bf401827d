"""Issue 4, traps and scope: redirects (loops, long chains, off-site, to other schemes), robots.txt,
calendars, repeated segments, session ids, endless pagination and a per-site URL budget; nothing
off-scope is ever fetched and no Cookie or Authorization header crosses hosts.

The crawled sites are on 127.0.0.1; the "other host" is 127.0.0.2, and its hit log must stay empty.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlite_utils

from scraper.scope import strip_session_ids, trap
from tests.hostile import pages
from tests.hostile.crawl import hostile_crawl
from tests.hostile.server import HostileServer

REDIRECT_MAX_TIMES = 10  # the project's setting
MAX_PAGE = 30  # SCOPE_MAX_PAGE_NUMBER for these crawls
BUDGET = 60  # SCOPE_MAX_REQUESTS_PER_SITE for these crawls
SESSION = re.compile(r"jsessionid|phpsessid|sid=", re.IGNORECASE)


# -- the rules, one URL at a time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://x.test/2026/07/02/harbour-dredging/", None),
        ("http://x.test/posts/harbour-dredging/", None),
        ("http://x.test/2026/07/", None),  # a month archive: a listing worth reading
        ("http://x.test/tag/harbour/page/3/", None),
        ("http://x.test/?p=1234", None),  # WordPress ids are not pagination …
        ("http://x.test/?p=12345", None),  # … nor years
        ("http://x.test/story/1234/", None),
        ("http://x.test/story/12345/", None),
        ("http://x.test/archive/?m=202405", None),
        ("http://x.test/?year=1850", "calendar"),
        ("http://x.test/calendar/2026/07/", "calendar"),
        ("http://x.test/events/list/?tribe-bar-date=2026-08-01", "calendar"),
        ("http://x.test/agenda/?month=2026-08", "calendar"),
        ("http://x.test/1887/03/", "calendar"),
        ("http://x.test/2090/01/", "calendar"),
        ("http://x.test/a/b/a/b/a/b/", "repeated-segment"),
        ("http://x.test/more/more/more/", "repeated-segment"),
        ("http://x.test/d/d/d/", "repeated-segment"),
        ("http://x.test/" + "/".join(f"s{i}" for i in range(13)), "deep-path"),
        ("http://x.test/?q=" + "x" * 2100, "long-url"),
        ("http://x.test/archive/?page=31", "deep-pagination"),
        ("http://x.test/news/page/31/", "deep-pagination"),
        ("http://x.test/news/?paged=30", None),
    ],
)
def test_trap_rules(url, name):
    assert trap(url, max_page=MAX_PAGE) == name


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://x.test/a;jsessionid=A1B2C3D4?x=1", "http://x.test/a?x=1"),
        ("http://x.test/a?PHPSESSID=9f8e7d6c5b4a39281706&x=1", "http://x.test/a?x=1"),
        ("http://x.test/a?sid=0123456789abcdef0123&x=1", "http://x.test/a?x=1"),
        ("http://x.test/a?osCsid=abc&zenid=def", "http://x.test/a"),
        ("http://x.test/a?sid=3", "http://x.test/a?sid=3"),  # a short "sid" is an ordinary id
        ("http://x.test/?s=harbour", "http://x.test/?s=harbour"),
    ],
)
def test_session_ids_are_stripped(url, clean):
    assert strip_session_ids(url) == clean


# -- a crawl of a site full of traps ---------------------------------------------------------


def trap_site(server: HostileServer, other: HostileServer) -> None:
    """Routes of the crawled site: real articles, and every trap and escape route we know."""
    base, elsewhere = server.base_url, other.base_url
    articles = [f"/posts/real-{i}/" for i in range(3)]
    redirects = [
        "/go/offsite/",
        "/go/meta-offsite/",
        "/go/file/",
        "/go/data/",
        "/go/javascript/",
        "/go/loop-a/",
        "/go/chain/0/",
    ]
    home_links = [
        "/calendar/2026/07/",
        "/section/",
        "/list;jsessionid=0A1B2C3D4E5F6A7B8C9D?x=1",
        "/archive/?page=1",
        "/private/secret/",
        f"{elsewhere}/linked/",
    ]

    def cookie(ex, data, **kwargs):
        # Every answer tries to start a session; the crawler must never send it back.
        ex.send(data, headers={"Set-Cookie": f"sid={secrets.token_hex(8)}; Path=/"}, **kwargs)

    def calendar(ex):
        # /calendar/YYYY/MM/: previous and next month, forever.
        year, month = (int(x) for x in ex.path.strip("/").split("/")[1:3])
        prev = f"/calendar/{year - (month == 1)}/{(month - 2) % 12 + 1:02d}/"
        nxt = f"/calendar/{year + (month == 12)}/{month % 12 + 1:02d}/"
        cookie(ex, pages.listing(f"{year}-{month}", [prev, nxt]))

    def section(ex):
        cookie(ex, pages.listing("Section", ["more/", "../section/more/"]))  # relative: stacks up

    def session_list(ex):
        cookie(ex, pages.listing("List", [f"/list?PHPSESSID={secrets.token_hex(16)}&x=1"]))

    def archive(ex):
        n = int(ex.query.get("page", "1"))
        links = [f"/archive/?page={n + step}" for step in (1, 2, 10, 100)]
        cookie(ex, pages.listing(f"Archive page {n}", [*links, "/posts/real-0/"]))

    def chain(ex):
        n = int(ex.path.strip("/").split("/")[-1])
        ex.redirect(f"/go/chain/{n + 1}/" if n < 50 else "/posts/real-1/")

    server.routes.update(
        {
            "/": lambda ex: cookie(ex, pages.home_with_feed("Trap Gazette", home_links)),
            "/robots.txt": lambda ex: ex.send(
                pages.robots(disallow=["/private/"]), content_type="text/plain"
            ),
            "/feed.xml": lambda ex: ex.send(
                pages.rss(base, [*articles, *redirects]), content_type="application/rss+xml"
            ),
            "/posts/*": lambda ex: cookie(
                ex, pages.article(f"Story {ex.path}", pages.paragraphs(ex.path))
            ),
            "/private/*": lambda ex: cookie(
                ex, pages.article("Secret", pages.paragraphs("secret"))
            ),
            "/calendar/*": calendar,
            "/section/*": section,
            "/list*": session_list,
            "/archive/": archive,
            "/go/offsite/": lambda ex: ex.redirect(f"{elsewhere}/redirected/"),
            "/go/meta-offsite/": lambda ex: ex.html(
                f"<html><head><meta http-equiv='refresh' content='0;url={elsewhere}/refreshed/'>"
                "</head><body>Moved</body></html>"
            ),
            "/go/file/": lambda ex: ex.redirect("file:///etc/passwd"),
            "/go/data/": lambda ex: ex.redirect("data:text/html,<h1>Injected</h1>"),
            "/go/javascript/": lambda ex: ex.redirect("javascript:alert(1)"),
            "/go/loop-a/": lambda ex: ex.redirect("/go/loop-b/"),
            "/go/loop-b/": lambda ex: ex.redirect("/go/loop-a/"),
            "/go/chain/*": chain,
        }
    )


def maze_site(server: HostileServer) -> None:
    """A site of endless, ordinary-looking listing pages: only the URL budget stops a crawler."""

    def maze(ex):
        n = int(ex.path.strip("/").split("/")[-1])
        if n > 3000:  # bounded, so that a crawl without the budget still ends
            ex.send("gone", status=404)
            return
        ex.html(pages.listing(f"Room {n}", [f"/maze/{n * 10 + k}/" for k in range(10)]))

    server.routes.update(
        {
            "/": lambda ex: ex.html(pages.home_with_feed("Maze", ["/maze/1/"])),
            "/feed.xml": lambda ex: ex.send(
                pages.rss(server.base_url, ["/posts/maze-article/"]),
                content_type="application/rss+xml",
            ),
            "/posts/*": lambda ex: ex.html(pages.article("Maze story", pages.paragraphs("maze"))),
            "/maze/*": maze,
        }
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """(trap site, maze site, other host, archive, result) after one crawl of both sites."""
    with (
        HostileServer() as site,
        HostileServer() as maze,
        HostileServer(host="127.0.0.2") as other,
    ):
        other.routes["*"] = lambda ex: ex.html(pages.article("Elsewhere", pages.paragraphs("x")))
        trap_site(site, other)
        maze_site(maze)
        db_path = tmp_path_factory.mktemp("scope") / "archive.db"
        settings = {
            "SCOPE_MAX_PAGE_NUMBER": str(MAX_PAGE),
            "SCOPE_MAX_REQUESTS_PER_SITE": str(BUDGET),
            "CLOSESPIDER_TIMEOUT": "60",  # only matters when a test runs without the handling
        }
        result = hostile_crawl(
            [site.base_url + "/", maze.base_url + "/"], db_path, settings=settings
        )
        assert result.exit_code == 0, result.stderr + result.log[-3000:]
        yield site, maze, other, sqlite_utils.Database(db_path), result


@pytest.mark.e2e
def test_nothing_off_site_is_fetched(crawled):
    site, _, other, db, _ = crawled
    assert other.hits == []  # not the links, not the redirects, not the meta refresh, no robots.txt
    hosts = {urlsplit(row["url"]).netloc for row in db["pages"].rows}
    assert hosts == {urlsplit(site.base_url).netloc, urlsplit(crawled[1].base_url).netloc}


@pytest.mark.e2e
def test_redirects_to_other_schemes_are_not_followed(crawled):
    _, _, _, db, _ = crawled
    for table, column in (("pages", "url"), ("captures", "final_url"), ("captures", "url")):
        values = [row[column] or "" for row in db[table].rows]
        assert all(value == "" or value.startswith("http") for value in values)
    assert not any("root:" in (row["text"] or "") for row in db["versions"].rows)
    assert not any("Injected" in (row["title"] or "") for row in db["versions"].rows)


@pytest.mark.e2e
def test_redirect_loops_and_long_chains_are_bounded(crawled):
    site = crawled[0]
    loop = len(site.hits_for("/go/loop-a/")) + len(site.hits_for("/go/loop-b/"))
    assert loop <= 3
    chain = [hit for hit in site.hits if hit.path.startswith("/go/chain/")]
    assert len(chain) <= REDIRECT_MAX_TIMES + 1


@pytest.mark.e2e
def test_robots_txt_is_obeyed(crawled):
    site = crawled[0]
    assert site.hits_for("/robots.txt")
    assert not [hit for hit in site.hits if hit.path.startswith("/private/")]


@pytest.mark.e2e
def test_calendar_trap_is_not_followed(crawled):
    site, _, _, _, result = crawled
    assert not [hit for hit in site.hits if hit.path.startswith("/calendar/")]
    assert result.stats["scope/refused/trap/calendar"] >= 1


@pytest.mark.e2e
def test_repeated_path_segments_are_bounded(crawled):
    site = crawled[0]
    for hit in site.hits:
        segments = [s for s in hit.path.split("/") if s]
        assert all(segments.count(s) <= 2 for s in segments), hit.path
    # Relative links stack "section" and "more"; each at most twice leaves a handful of paths.
    assert 1 <= len([hit for hit in site.hits if hit.path.startswith("/section/")]) <= 12


@pytest.mark.e2e
def test_session_ids_never_reach_the_server(crawled):
    site = crawled[0]
    assert not [hit.target for hit in site.hits if SESSION.search(hit.target)]
    assert [hit.target for hit in site.hits if hit.path == "/list"] == ["/list?x=1"]


@pytest.mark.e2e
def test_endless_pagination_is_bounded(crawled):
    site = crawled[0]
    pages_fetched = [int(dict(parse_qsl(hit.query))["page"]) for hit in site.hits_for("/archive/")]
    assert pages_fetched
    assert max(pages_fetched) <= MAX_PAGE
    assert len(pages_fetched) <= MAX_PAGE


@pytest.mark.e2e
def test_per_site_url_budget_bounds_an_endless_site(crawled):
    _, maze, _, db, result = crawled
    assert len(maze.hits) <= BUDGET
    assert result.stats["scope/refused/budget"] >= 1
    # The budget goes to feeds and articles first: the maze's one article is archived.
    assert db["pages"].count_where("url = ?", [maze.url("/posts/maze-article/")]) == 1


@pytest.mark.e2e
def test_real_articles_are_still_archived(crawled):
    site, _, _, db, _ = crawled
    for i in range(3):
        assert db["pages"].count_where("url = ?", [site.url(f"/posts/real-{i}/")]) == 1


@pytest.mark.e2e
def test_cookies_are_never_sent_back(crawled):
    site = crawled[0]
    assert not [hit.target for hit in site.hits if "cookie" in hit.headers]


@pytest.mark.e2e
def test_no_cookie_or_authorization_crosses_hosts(tmp_path):
    """Even with cookies and HTTP auth switched on, a redirect to another host carries neither."""
    with HostileServer() as first, HostileServer(host="127.0.0.2") as second:

        def with_cookie(route, content_type="text/html"):
            def wrapped(ex):
                cookie = {"Set-Cookie": "session=s3cr3t; Path=/"}
                ex.send(route(ex), content_type=content_type, headers=cookie)

            return wrapped

        def article(ex):
            return pages.article(f"Story {ex.path}", pages.paragraphs(ex.path))

        first.routes.update(
            {
                "/": with_cookie(lambda ex: pages.home_with_feed("First")),
                "/robots.txt": with_cookie(lambda ex: pages.robots(), "text/plain"),
                "/feed.xml": with_cookie(
                    lambda ex: pages.rss(first.base_url, ["/posts/a/", "/posts/moved/"]),
                    "application/rss+xml",
                ),
                "/posts/a/": with_cookie(article),
                # Fetched last (lowest priority), once the cookie jar holds the session.
                "/posts/moved/": lambda ex: ex.redirect(second.url("/posts/moved-here/")),
            }
        )
        second.routes.update(
            {
                "/": lambda ex: ex.html(pages.home_with_feed("Second")),
                "/feed.xml": lambda ex: ex.send(
                    pages.rss(second.base_url, []), content_type="application/rss+xml"
                ),
                "/posts/*": lambda ex: ex.html(article(ex)),
            }
        )
        done = hostile_crawl(
            [f"{first.base_url}/", f"{second.base_url}/"],
            tmp_path / "archive.db",
            settings={
                "COOKIES_ENABLED": "True",
                "HTTPAUTH_USER": "archivist",
                "HTTPAUTH_PASS": "hunter2",
                "HTTPAUTH_DOMAIN": urlsplit(first.base_url).netloc,  # host:port
            },
        )
    assert done.exit_code == 0, done.stderr + done.log[-3000:]
    assert any("authorization" in hit.headers for hit in first.hits)  # credentials were in play
    assert any("cookie" in hit.headers for hit in first.hits)
    assert second.hits_for("/posts/moved-here/")  # the redirect was followed …
    leaked = [hit.target for hit in second.hits if {"cookie", "authorization"} & set(hit.headers)]
    assert leaked == []  # … without the first host's credentials
