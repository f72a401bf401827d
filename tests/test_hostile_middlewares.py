"""The hostile-web middlewares, one response at a time (no reactor, no network)."""

from __future__ import annotations

import zlib
from pathlib import Path

import brotli
import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from scraper import settings as project
from scraper.middlewares import (
    BodyGuardMiddleware,
    ResponseRejected,
    RetryAfterMiddleware,
    ScopeGuardMiddleware,
    StrictHttpCompressionMiddleware,
    retry_after,
)
from tests.hostile import binaries, pages
from tests.hostile.server import gzip_bytes

SITE = "http://127.0.0.1:8000"
PAGE = pages.article("Story", pages.paragraphs("[story]")).encode()


class SitesSpider(scrapy.Spider):
    """The one thing the middlewares ask of a spider: ``sites``, keyed by ``host_of``."""

    name = "sites"
    sites = {"127.0.0.1:8000": SITE + "/"}


def crawler_for(**overrides):
    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    crawler = get_crawler(SitesSpider, {**values, "ARCHIVE_ENABLED": False, **overrides})
    crawler.spider = SitesSpider.from_crawler(crawler)
    return crawler


def html(body: bytes, *, url: str = SITE + "/posts/a/", status: int = 200, **kwargs) -> Response:
    headers = kwargs.pop("headers", {"Content-Type": "text/html; charset=utf-8"})
    request = scrapy.Request(url)
    return HtmlResponse(url, status=status, body=body, headers=headers, request=request, **kwargs)


# -- scope ---------------------------------------------------------------------------------------


@pytest.fixture
def scope():
    return ScopeGuardMiddleware.from_crawler(crawler_for(SCOPE_MAX_REQUESTS_PER_SITE=3))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:text/html,<h1>x</h1>",
        "ftp://127.0.0.1:8000/a",
        "s3://bucket/key",
        "http://127.0.0.2:8000/a",  # another host
        "http://127.0.0.1:8001/a",  # another port is another site
        "http://127.0.0.1.evil.test:8000/a",
    ],
)
def test_scope_refuses_other_schemes_and_hosts(scope, url):
    with pytest.raises(IgnoreRequest):
        scope.process_request(scrapy.Request(url))


def test_scope_lets_the_site_through_and_counts_the_budget(scope):
    assert scope.process_request(scrapy.Request(SITE + "/posts/a/")) is None
    retry = scrapy.Request(SITE + "/posts/a/", meta={"retry_times": 1})
    assert scope.process_request(retry) is None  # a retry is not a new URL
    assert scope.process_request(scrapy.Request("http://www.127.0.0.1:8000/b")) is None
    assert scope.process_request(scrapy.Request(SITE + "/posts/c/")) is None
    with pytest.raises(IgnoreRequest, match="budget"):
        scope.process_request(scrapy.Request(SITE + "/posts/d/"))
    assert scope.crawler.stats.get_value("scope/refused/budget") == 1


def test_scope_strips_session_ids_and_refuses_traps(scope):
    request = scrapy.Request(SITE + "/list;jsessionid=0A1B2C3D4E5F?x=1")
    assert scope.process_request(request).url == SITE + "/list?x=1"
    with pytest.raises(IgnoreRequest, match="calendar"):
        scope.process_request(scrapy.Request(SITE + "/calendar/2026/07/"))


def test_scope_can_be_switched_off():
    with pytest.raises(NotConfigured):
        ScopeGuardMiddleware.from_crawler(crawler_for(SCOPE_ENABLED=False))


# -- retries -------------------------------------------------------------------------------------


def test_retry_after_parses_seconds_and_dates():
    assert retry_after(b"  7 ") == 7.0
    assert retry_after(b"Thu, 01 Jan 1970 00:01:00 GMT", now=0.0) == 60.0
    assert retry_after(b"Thu, 01 Jan 1970 00:01:00 GMT", now=600.0) == 0.0  # already past
    assert retry_after(None) is None


@pytest.mark.asyncio
async def test_retry_after_beyond_the_bound_is_not_retried():
    middleware = RetryAfterMiddleware.from_crawler(crawler_for(RETRY_AFTER_MAX=5))
    response = html(b"busy", status=503, headers={"Retry-After": "3600"})
    assert await middleware.process_response(response.request, response) is response
    assert middleware.crawler.stats.get_value("retry/retry_after_too_long") == 1


@pytest.mark.asyncio
async def test_retries_without_retry_after_are_scrapys():
    middleware = RetryAfterMiddleware.from_crawler(crawler_for())
    response = html(b"busy", status=503)
    retry = await middleware.process_response(response.request, response)
    assert isinstance(retry, scrapy.Request)
    assert retry.meta["retry_times"] == 1


# -- compression ---------------------------------------------------------------------------------


def compressed(encoding: str, data: bytes) -> bytes:
    return {"gzip": gzip_bytes, "deflate": zlib.compress, "br": brotli.compress}[encoding](data)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_truncated_streams_are_rejected(encoding):
    middleware = StrictHttpCompressionMiddleware.from_crawler(crawler_for())
    data = compressed(encoding, PAGE)
    whole = html(data, headers={"Content-Encoding": encoding})
    assert middleware.process_response(whole.request, whole).body == PAGE
    cut = html(data[: len(data) * 2 // 3], headers={"Content-Encoding": encoding})
    with pytest.raises(ResponseRejected, match=f"truncated {encoding} stream"):
        middleware.process_response(cut.request, cut)


def test_corrupt_streams_are_rejected():
    middleware = StrictHttpCompressionMiddleware.from_crawler(crawler_for())
    garbage = html(
        b"\x1f\x8b\x08\x00 this is not gzip at all", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(ResponseRejected, match="invalid gzip stream"):
        middleware.process_response(garbage.request, garbage)


def test_bombs_are_rejected_at_the_size_limit():
    middleware = StrictHttpCompressionMiddleware.from_crawler(crawler_for(DOWNLOAD_MAXSIZE=10_000))
    bomb = html(gzip_bytes(b" " * 1_000_000), headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseRejected, match="decompressed"):
        middleware.process_response(bomb.request, bomb)


def test_lenient_decompression_when_strictness_is_off():
    middleware = StrictHttpCompressionMiddleware.from_crawler(
        crawler_for(STRICT_COMPRESSION_ENABLED=False)
    )
    data = gzip_bytes(PAGE)
    cut = html(data[: len(data) // 2], headers={"Content-Encoding": "gzip"})
    assert PAGE.startswith(middleware.process_response(cut.request, cut).body)  # Scrapy's way


# -- bodies --------------------------------------------------------------------------------------


@pytest.fixture
def guard():
    return BodyGuardMiddleware.from_crawler(crawler_for(RETRY_TIMES=0))


@pytest.mark.parametrize(
    ("body", "flags", "reason"),
    [
        (b"", [], "empty"),
        (b" \r\n\t " * 100, [], "empty"),
        (binaries.pdf("[x]"), [], "pdf"),
        (binaries.png("[x]"), [], "png"),
        (b"GIF89a\x01\x00\x01\x00<p>caption</p>", [], "gif"),
        (PAGE[:-200], ["partial"], "truncated"),
        (PAGE, ["dataloss"], "truncated"),
    ],
)
def test_body_guard_rejects(guard, body, flags, reason):
    response = html(body, flags=flags)
    with pytest.raises(ResponseRejected, match=reason):
        guard.process_response(response.request, response)


def test_body_guard_retries_while_retries_last():
    guard = BodyGuardMiddleware.from_crawler(crawler_for(RETRY_TIMES=1))
    response = html(b"")
    retry = guard.process_response(response.request, response)
    assert isinstance(retry, scrapy.Request)
    assert retry.meta["retry_times"] == 1


@pytest.mark.parametrize(
    "response",
    [
        html(PAGE, flags=["partial"]),  # connection-delimited, but the page visibly ends
        html(b"", status=304),
        html(b"", status=404),
        html(b"%PDF-1.7", headers={"Content-Type": "application/pdf"}),
        TextResponse(SITE + "/robots.txt", body=b"", headers={"Content-Type": "text/plain"}),
        Response(SITE + "/sitemap.xml.gz", body=gzip_bytes(b"<urlset/>"), headers={}),
    ],
    ids=["partial-but-whole", "304", "404", "pdf-as-pdf", "empty-robots", "undeclared-gzip"],
)
def test_body_guard_lets_whole_pages_and_other_answers_through(guard, response):
    request = response.request or scrapy.Request(response.url)
    assert guard.process_response(request, response) is response


def test_body_guard_leaves_robots_txt_alone(guard):
    response = html(b"", url=SITE + "/robots.txt")  # empty, and mislabelled as HTML
    request = scrapy.Request(response.url, meta={"dont_obey_robotstxt": True})
    assert guard.process_response(request, response) is response


def test_body_guard_corrects_a_wrong_charset_without_touching_the_bytes(guard):
    body = pages.article("Café", ["Café “déjà vu” naïve façade"]).encode("cp1252")
    response = html(body, headers={"Content-Type": "text/html; charset=utf-8"})
    fixed = guard.process_response(response.request, response)
    assert fixed.encoding == "cp1252"
    assert fixed.body == body
    assert "“déjà vu”" in fixed.text


# -- docs ----------------------------------------------------------------------------------------

HOSTILE_PREFIXES = ("SCOPE_", "RETRY_AFTER_", "STRICT_COMPRESSION_", "BODY_GUARD_")


@pytest.mark.parametrize("name", sorted(n for n in dir(project) if n.startswith(HOSTILE_PREFIXES)))
def test_every_hostile_web_setting_is_documented(name):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"| `{name}` | `" in readme


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        ("Café “déjà vu”".encode(), "utf-8"),
        ("Café “déjà vu”".encode("cp1252"), "utf-8"),  # declared UTF-8, is windows-1252
        ("Café “déjà vu”".encode(), "cp1252"),  # declared windows-1252, is UTF-8
        ("A real replacement character: \ufffd".encode(), "utf-8"),  # valid UTF-8 all the same
        (b"\xef\xbb\xbf" + "Café".encode(), "cp1252"),  # a BOM wins
        (b"plain ascii", "utf-8"),
    ],
)
def test_charset_correction_from_the_decoded_text_matches_decoding_again(
    body, declared, monkeypatch
):
    from scraper import content

    html = b"<html><head><title>t</title></head><body><p>" + body + b"</p></body></html>"
    response = HtmlResponse("http://127.0.0.1/p/", body=html, encoding=declared)
    expected = content.corrected_encoding(html, response.encoding)
    assert content.corrected_encoding(html, response.encoding, response.text) == expected
    if expected is None and response.encoding == "utf-8" and "\ufffd" not in response.text:
        # The common case, a valid UTF-8 page: its text is not decoded a second time.
        monkeypatch.setattr(content, "_decodes", pytest.fail)
        assert content.corrected_encoding(html, response.encoding, response.text) is None
