"""Issue 4, content: empty and binary bodies are never versions; malformed HTML still yields text;
charsets (declared, in <meta> only, BOM, wrong) are decoded right and raw bytes stored losslessly;
astral, right-to-left and combining characters reach Datasette's JSON byte-exact.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from archive.serve import make_datasette
from archive.store import read_body
from tests.hostile import binaries, pages
from tests.hostile.crawl import hostile_crawl
from tests.hostile.server import HostileServer

pytestmark = pytest.mark.e2e

WESTERN = "Café “déjà vu” — 5 € for the naïve façade"
JAPANESE = "東京都の港湾委員会は木曜日に浚渫契約を見直した。"
RUSSIAN = "Портовая комиссия в четверг пересмотрела контракт на дноуглубление."
# Astral (mathematical letters, emoji), right-to-left (Hebrew, Arabic) and combining marks that
# have no precomposed form, so no Unicode normalisation can change them.
UNICODE = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 עברית ומילים مرحبا بالعالم Z\u0351\u0352a\u0353l\u0354g\u0355o"
# What NFC normalisation or dropping format characters would change: a decomposed é, a family
# emoji joined by ZERO WIDTH JOINERs.
DECOMPOSED = "Cafe\u0301 👩\u200d👩\u200d👧"

MALFORMED = f"""<html><head><title>Malformed</title><meta property='og:type' content='article'>
<body><div class=x"y =z><h1>Malformed <b>page<i></b></i></h1>
<p>[malformed] first paragraph. {pages.LOREM}
<p>[malformed] second paragraph, unclosed <span>with a <a href='#'>dangling link</div></div></span>
<table><tr><td>[malformed] cell text. {pages.LOREM}</tr></td></table></span></div></div></section>
<p>[malformed] after the stray end tags. {pages.LOREM}<![CDATA[ junk ]]> &bogus; &#xD800; &#0;
<p>[malformed] last paragraph. {pages.LOREM}"""
# Browsers show what follows </html> (the HTML5 parser moves it into the body); libxml2 2.14, the
# parser under lxml and trafilatura, drops it.
AFTER_END = f"""<html><head><title>Appended</title><meta property='og:type' content='article'></head>
<body><article><h1>Appended</h1><p>[appended] first paragraph. {pages.LOREM}</p></article></body></html>
<p>[appended] paragraph after the end of the page. {pages.LOREM}</p>"""


def page(title: str, text: str, *, meta: str = "") -> str:
    paras = [f"{text} ({i}). {pages.LOREM}" for i in range(1, 5)]
    return pages.article(title, paras, head=meta)


def html_bytes(data: bytes, charset: str | None = None) -> tuple[str, bytes]:
    return (f"text/html; charset={charset}" if charset else "text/html", data)


def build_cases() -> dict[str, tuple[str, bytes]]:
    """name -> (Content-Type, body bytes); every body distinct (bodies are stored once per sha256)."""

    def western(name: str, meta: str = "") -> str:
        return page(f"Western ({name})", WESTERN, meta=meta)

    return {
        "empty": html_bytes(b""),
        "blank": html_bytes(b" \t\r\n" * 2000, "utf-8"),
        "pdf": html_bytes(binaries.pdf("[pdf]")),
        "png": html_bytes(binaries.png("[png]"), "utf-8"),
        "malformed": html_bytes(MALFORMED.encode(), "utf-8"),
        "after-end": html_bytes(AFTER_END.encode(), "utf-8"),
        "cp1252": html_bytes(western("cp1252").encode("cp1252"), "windows-1252"),
        # Servers say latin-1 and send windows-1252 quotes and euro signs; browsers cope.
        "latin1-label": html_bytes(western("latin-1").encode("cp1252"), "iso-8859-1"),
        "shift-jis": html_bytes(page("日本語", JAPANESE).encode("shift_jis"), "Shift_JIS"),
        "meta-only": html_bytes(
            page("Русский", RUSSIAN, meta='<meta charset="windows-1251">').encode("cp1251")
        ),
        "utf-16": html_bytes(
            "\ufeff".encode("utf-16-le") + western("utf-16").encode("utf-16-le"), "utf-8"
        ),
        "wrong-utf8": html_bytes(western("wrong utf-8").encode("cp1252"), "utf-8"),
        "wrong-latin1": html_bytes(western("wrong latin-1").encode("utf-8"), "iso-8859-1"),
        "wrong-meta": html_bytes(
            western("wrong meta", meta='<meta charset="iso-8859-1">').encode("utf-8")
        ),
        "nul": html_bytes(western("nul").replace("(", "\x00(").encode() + b"\x00"),
        "unicode": html_bytes(page(UNICODE, UNICODE).encode(), "utf-8"),
        "decomposed": html_bytes(page(DECOMPOSED, DECOMPOSED).encode(), "utf-8"),
    }


CASES = build_cases()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    with HostileServer() as server:
        links = [f"/posts/{name}/" for name in CASES]
        for name, (content_type, data) in CASES.items():
            server.routes[f"/posts/{name}/"] = lambda ex, ct=content_type, d=data: ex.send(
                d, content_type=ct
            )
        pages.route_feed_blog(server, "Odd Gazette", links)
        db_path = tmp_path_factory.mktemp("content") / "archive.db"
        result = hostile_crawl(server.base_url + "/", db_path)
        assert result.exit_code == 0, result.stderr + result.log[-3000:]
        yield server, db_path, result


def archived(hostile, name):
    """(versions, captures) of the case ``name``."""
    server, db_path, _ = hostile
    db = sqlite_utils.Database(db_path)
    url = server.url(f"/posts/{name}/")
    sql = "select v.* from versions v join pages p on p.id = v.page_id where p.url = ?"
    return list(db.query(sql, [url])), list(db["captures"].rows_where("url = ?", [url]))


@pytest.mark.parametrize(("name", "why"), [("empty", "empty"), ("blank", "empty")])
def test_empty_and_whitespace_bodies_are_never_versions(hostile, name, why):
    versions, captures = archived(hostile, name)
    assert versions == []
    assert [c["outcome"] for c in captures] == ["error"]
    assert why in captures[0]["error"]  # rejected as such, not handed to the extractor


@pytest.mark.parametrize("kind", ["pdf", "png"])
def test_binaries_served_as_html_are_never_versions(hostile, kind):
    # Both files carry <p> paragraphs inside, which an HTML parser would happily extract.
    versions, captures = archived(hostile, kind)
    assert versions == []
    assert [c["outcome"] for c in captures] == ["error"]
    assert f"a {kind} file" in captures[0]["error"]


def test_malformed_html_still_yields_its_text(hostile):
    [version], _ = archived(hostile, "malformed")
    for part in ("first paragraph", "cell text", "after the stray end tags", "last paragraph"):
        assert f"[malformed] {part}" in version["text"]


def test_text_after_the_end_of_the_html_is_kept(hostile):
    [version], _ = archived(hostile, "after-end")
    assert "[appended] paragraph after the end of the page" in version["text"]


@pytest.mark.parametrize(
    ("name", "expected", "encoding"),
    [
        ("cp1252", WESTERN, "cp1252"),
        ("latin1-label", WESTERN, "cp1252"),
        ("shift-jis", JAPANESE, None),
        ("meta-only", RUSSIAN, "cp1251"),
        ("utf-16", WESTERN, "utf-16-le"),
        ("wrong-utf8", WESTERN, "cp1252"),
        ("wrong-latin1", WESTERN, "utf-8"),
        ("wrong-meta", WESTERN, "utf-8"),
        ("nul", WESTERN, "utf-8"),
    ],
)
def test_charsets_are_decoded_right_and_raw_bytes_kept(hostile, name, expected, encoding):
    _, db_path, _ = hostile
    [version], [capture] = archived(hostile, name)
    assert expected in version["text"]
    assert "\ufffd" not in version["text"]  # no replacement characters …
    assert "Ã" not in version["text"]  # … and no UTF-8 read as windows-1252
    db = sqlite_utils.Database(db_path)
    body = db["bodies"].get(capture["body_sha256"])
    if encoding:
        assert body["encoding"] == encoding
    # Lossless: the bytes the server sent, not the decoded text.
    assert read_body(db, capture["body_sha256"]) == CASES[name][1]


async def _versions_json(db_path, page_url):
    ds = make_datasette(db_path)
    db = sqlite_utils.Database(db_path)
    page_id = db.execute("select id from pages where url = ?", [page_url]).fetchone()[0]
    response = await ds.client.get(f"/archive/versions.json?_shape=array&page_id={page_id}")
    assert response.status_code == 200
    return response.json()


@pytest.mark.asyncio
async def test_astral_rtl_and_combining_characters_reach_datasette_byte_exact(hostile):
    server, db_path, _ = hostile
    [row] = await _versions_json(db_path, server.url("/posts/unicode/"))
    assert row["title"].encode() == UNICODE.encode()
    assert all(UNICODE in line for line in row["text"].splitlines()[1:])


@pytest.mark.asyncio
async def test_decomposed_and_joined_characters_reach_datasette_byte_exact(hostile):
    server, db_path, _ = hostile
    [row] = await _versions_json(db_path, server.url("/posts/decomposed/"))
    assert row["title"].encode() == DECOMPOSED.encode()
    assert DECOMPOSED in row["text"]
