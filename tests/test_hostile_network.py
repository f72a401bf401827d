"""Issue 4, network and status: stalls, drips, resets, short bodies, broken chunking, truncated
compression, server errors and Retry-After — bounded retries, and never a truncated version.

One crawl of a hostile blog whose feed lists one article per case; each test checks one case in
the archive and in the server's hit log.
"""

from __future__ import annotations

import re

import brotli
import pytest
import sqlite_utils

from tests.hostile import pages
from tests.hostile.crawl import hostile_crawl
from tests.hostile.server import HostileServer, deflate_bytes, gzip_bytes

pytestmark = pytest.mark.e2e

RETRY_TIMES = 2  # the project default
TIMEOUT = 3.0  # DOWNLOAD_TIMEOUT of hostile crawls
RETRY_AFTER = 2  # seconds the busy server asks for
LAST = "paragraph 6"  # only a complete page has its last paragraph


def body(name: str) -> bytes:
    return pages.article(f"Story {name}", pages.paragraphs(f"[{name}]", 6)).encode()


def head(ex, **headers):
    ex.head(200, content_type="text/html; charset=utf-8", headers=headers)


def never_answers(ex):
    ex.wait(TIMEOUT * 4)


def drips(ex):
    data = body("drip")
    head(ex, **{"Content-Length": str(len(data))})
    for i in range(int(TIMEOUT * 4)):  # 1 byte a second, far less than the page
        if not ex.write(data[i : i + 1]):
            return
        ex.wait(1)


def resets_mid_body(ex):
    data = body("reset")
    head(ex, **{"Content-Length": str(len(data))})
    ex.write(data[: len(data) // 2])
    ex.reset()


def resets_mid_body_without_length(ex):
    data = body("reset-nolength")
    head(ex)  # the end of the body is the end of the connection
    ex.write(data[: len(data) * 2 // 3])
    ex.wait(0.2)
    ex.reset()


def short_body(ex):
    data = body("short")
    head(ex, **{"Content-Length": str(len(data) + 1000)})
    ex.write(data[: len(data) * 2 // 3])


def broken_chunking(ex):
    data = body("chunks")
    head(ex, **{"Transfer-Encoding": "chunked"})
    ex.write(b"%x\r\n" % 1500 + data[:1500] + b"\r\nnot-a-size\r\n" + data[1500:])


def chunking_cut_short(ex):
    data = body("chunks-cut")
    head(ex, **{"Transfer-Encoding": "chunked"})
    ex.write(b"%x\r\n" % 1500 + data[:1500] + b"\r\n")  # no last chunk: the stream just ends


def truncated(encoding, compress):
    def route(ex):
        data = compress(body(f"{encoding}-cut"))
        # A whole HTTP message (right Content-Length) carrying two thirds of a compressed stream.
        ex.send(data[: len(data) * 2 // 3], headers={"Content-Encoding": encoding})

    return route


def busy_then_ok(ex):
    if len(ex.server.hits_for(ex.path)) == 1:
        ex.send("busy", status=503, headers={"Retry-After": str(RETRY_AFTER)})
    else:
        ex.send(body("busy"))


def rate_limited_for_an_hour(ex):
    ex.send("slow down", status=429, headers={"Retry-After": "3600"})


def always_500(ex):
    ex.send("<h1>Internal error</h1>", status=500)


def fails_twice_then_works(ex):
    attempt = len(ex.server.hits_for(ex.path))
    if attempt == 1:
        ex.send("oops", status=500)
    elif attempt == 2:
        ex.send("busy", status=503)
    else:
        ex.send(body("third-time"))


def fine(ex):
    ex.send(body("fine"))


CASES = {
    "never": never_answers,
    "drip": drips,
    "reset": resets_mid_body,
    "reset-nolength": resets_mid_body_without_length,
    "short": short_body,
    "chunks": broken_chunking,
    "chunks-cut": chunking_cut_short,
    "gzip-cut": truncated("gzip", gzip_bytes),
    "deflate-cut": truncated("deflate", deflate_bytes),
    "br-cut": truncated("br", brotli.compress),
    "busy": busy_then_ok,
    "rate-limited": rate_limited_for_an_hour,
    "error-500": always_500,
    "third-time": fails_twice_then_works,
    "fine": fine,
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile blog, crawled once: (server, archive, crawl result)."""
    with HostileServer() as server:
        links = [f"/posts/{name}/" for name in CASES]
        server.routes.update({f"/posts/{name}/": route for name, route in CASES.items()})
        pages.route_feed_blog(server, "Hostile Gazette", links)
        db_path = tmp_path_factory.mktemp("network") / "archive.db"
        result = hostile_crawl(server.base_url + "/", db_path, settings={"RETRY_AFTER_MAX": "30"})
        assert result.exit_code == 0, result.stderr + result.log[-3000:]
        yield server, sqlite_utils.Database(db_path), result


def page_record(hostile, name):
    """(hits, versions, captures) for the case ``name``."""
    server, db, _ = hostile
    path = f"/posts/{name}/"
    url = server.url(path)
    versions = list(
        db.query(
            "select v.* from versions v join pages p on p.id = v.page_id where p.url = ?", [url]
        )
    )
    captures = list(db["captures"].rows_where("url = ?", [url]))
    return server.hits_for(path), versions, captures


def assert_failed_and_recorded(hostile, name, *, attempts=RETRY_TIMES + 1):
    hits, versions, captures = page_record(hostile, name)
    assert len(hits) == attempts  # retried, but not forever
    assert versions == []  # never a (truncated) version
    assert [c["outcome"] for c in captures] == ["error"]  # the failure is on record
    assert captures[0]["error"]
    return captures[0]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("never", "Timeout"),
        ("drip", "Timeout"),
        ("reset", "DataLoss|truncated"),
        ("short", "DataLoss|truncated"),
        ("chunks", "DataLoss|truncated"),
        ("chunks-cut", "DataLoss|truncated"),
    ],
)
def test_stalls_and_broken_transfers_fail_after_bounded_retries(hostile, name, error):
    # DataLoss: Scrapy's DOWNLOAD_FAIL_ON_DATALOSS; "truncated": the body guard, if that is off.
    capture = assert_failed_and_recorded(hostile, name)
    assert re.search(error, capture["error"])


def test_reset_mid_body_without_content_length_is_not_a_page(hostile):
    # Without a Content-Length the body ends when the connection does, so a reset looks like the
    # end of the page: Scrapy hands over two thirds of it flagged "partial".
    capture = assert_failed_and_recorded(hostile, "reset-nolength")
    assert "truncated" in capture["error"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_truncated_compressed_body_is_a_failure_not_a_page(hostile, encoding):
    capture = assert_failed_and_recorded(hostile, f"{encoding}-cut", attempts=1)
    assert f"truncated {encoding} stream" in capture["error"]


def test_retry_after_is_honoured(hostile):
    hits, versions, _ = page_record(hostile, "busy")
    assert len(hits) == 2
    waited = hits[1].at - hits[0].at
    assert RETRY_AFTER <= waited < RETRY_AFTER + 5
    assert len(versions) == 1
    assert LAST in versions[0]["text"]


def test_retry_after_beyond_the_bound_gives_up_and_records(hostile):
    hits, versions, captures = page_record(hostile, "rate-limited")
    assert len(hits) == 1  # retrying early would ignore the server; waiting an hour, the crawl
    assert versions == []
    assert [(c["outcome"], c["http_status"]) for c in captures] == [("error", 429)]
    _, _, result = hostile
    assert result.stats["retry/retry_after_too_long"] == 1


def test_server_error_retried_a_bounded_number_of_times_then_recorded(hostile):
    hits, versions, captures = page_record(hostile, "error-500")
    assert len(hits) == RETRY_TIMES + 1
    assert versions == []
    assert [(c["outcome"], c["http_status"]) for c in captures] == [("error", 500)]


def test_page_that_fails_twice_then_works_is_archived_once(hostile):
    hits, versions, captures = page_record(hostile, "third-time")
    assert len(hits) == 3
    assert len(versions) == 1
    assert LAST in versions[0]["text"]
    assert [c["outcome"] for c in captures] == ["new"]


def test_no_truncated_text_anywhere_and_the_good_page_is_archived(hostile):
    _, db, _ = hostile
    texts = [row["text"] for row in db["versions"].rows]
    assert texts
    assert all(LAST in text for text in texts)
    assert len(page_record(hostile, "fine")[1]) == 1
