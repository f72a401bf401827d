"""Feeds, sitemaps and the article-or-listing decision."""

from __future__ import annotations

import json

import pytest
from trafilatura.utils import load_html

from scraper.discovery import classify_page, entries_in_feed, feed_links_in_html, is_feed_body

BASE = "http://127.0.0.1:8000/"


def test_rss_atom_rdf_and_json_feeds():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><link>http://127.0.0.1:8000/posts/a/</link></item>
      <item><link> /posts/b/ </link></item></channel></rss>"""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="/atom.xml"/>
      <entry><link rel="alternate" href="/posts/c/"/><link rel="replies" href="/c/comments"/></entry>
      <entry><link href="http://127.0.0.1:8000/posts/d/"/></entry></feed>"""
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
      <item><link>http://127.0.0.1:8000/posts/e/</link></item></rdf:RDF>"""
    feed_json = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"url": "/posts/f/"}, {"id": "x"}],
        }
    ).encode()
    assert entries_in_feed(rss, BASE) == [BASE + "posts/a/", BASE + "posts/b/"]
    assert entries_in_feed(atom, BASE) == [BASE + "posts/c/", BASE + "posts/d/"]
    assert entries_in_feed(rdf, BASE) == [BASE + "posts/e/"]
    assert entries_in_feed(feed_json, BASE) == [BASE + "posts/f/"]
    assert all(is_feed_body(body) for body in (rss, atom, rdf, feed_json))
    assert not is_feed_body(b"<!doctype html><html></html>")
    assert entries_in_feed(b"{broken", BASE) == []
    assert entries_in_feed(b"", BASE) == []


def test_feed_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = f"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
      <rss><channel><item><link>http://127.0.0.1:8000/&x;</link></item></channel></rss>""".encode()
    assert not any("TOPSECRET" in url for url in entries_in_feed(xxe, BASE))


def test_feed_links_in_html():
    tree = load_html(
        """<html><head>
        <link rel="alternate" type="application/rss+xml" href="/feed.xml">
        <link rel="alternate" type="application/atom+xml; charset=utf-8" href="/atom.xml">
        <link rel="alternate" type="application/rss+xml" href="/comments/feed/">
        <link rel="alternate" hreflang="fr" href="/fr/">
        <link rel="stylesheet" href="/s.css"></head><body></body></html>"""
    )
    assert feed_links_in_html(tree, BASE) == [BASE + "feed.xml", BASE + "atom.xml"]


def page(head="", body="<p>text</p>"):
    return load_html(f"<html><head>{head}</head><body>{body}</body></html>")


LD_ARTICLE = '<script type="application/ld+json">{"@type": "BlogPosting"}</script>'
LD_LISTING = '<script type="application/ld+json">{"@type": "CollectionPage"}</script>'
OG_WEBSITE = '<meta property="og:type" content="website">'


@pytest.mark.parametrize(
    ("tree", "url", "via", "expected"),
    [
        (page(LD_ARTICLE), BASE + "some-page", "link", (True, "json-ld")),
        (
            page('<meta property="og:type" content="article">'),
            BASE + "x",
            "link",
            (True, "og:type"),
        ),
        (page(LD_LISTING), BASE + "writing/", "link", (False, "json-ld-listing")),
        (page(LD_ARTICLE), BASE, "start", (False, "listing-url")),
        (page(LD_ARTICLE), BASE + "tag/policy/", "link", (False, "listing-url")),
        (page(), BASE + "category/media/", "sitemap", (False, "listing-url")),
        (page(), BASE + "page/3/", "link", (False, "listing-url")),
        (page(), BASE + "2024/", "link", (False, "listing-url")),
        (page(), BASE + "blog/2024/05/", "feed", (False, "listing-url")),
        (page(LD_ARTICLE), BASE + "articles/1999/", "sitemap", (True, "json-ld")),
        (page(), BASE + "about/", "link", (False, "listing-url")),
        (page(), BASE + "blog?page=2", "link", (False, "listing-url")),
        (page(body="<article>a</article>" * 3), BASE + "latest", "link", (False, "many-articles")),
        (page(), BASE + "x", "feed", (True, "feed")),
        (page(OG_WEBSITE), BASE + "posts/a-post/", "sitemap", (True, "url-shape")),
        (page(OG_WEBSITE), BASE + "2026/07/02/export-rules", "link", (True, "url-shape")),
        (page(OG_WEBSITE), BASE + "contributors", "link", (False, "og:type-website")),
        (page(), BASE + "why-we-keep-every-revision-of-articles", "link", (True, "url-shape")),
        (page(), BASE + "misc", "link", (False, "no-article-signal")),
    ],
)
def test_classify_page(tree, url, via, expected):
    assert classify_page(tree, url, via) == expected
