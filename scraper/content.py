"""What a response body really is: binary or text, complete or cut off, and in which charset.

Pure functions on bytes, used by ``scraper.middlewares``; none of them needs Scrapy.
"""

from __future__ import annotations

import codecs
import re
import sys
import zlib

from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

try:  # the same decoders Scrapy itself depends on
    import brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover
    import brotlicffi as brotli  # type: ignore[import-not-found]

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

# File signatures (magic bytes) of formats that servers send mislabelled as text/html.
MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # old Office documents
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"ID3", "mp3"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"\x1aE\xdf\xa3", "webm"),
    (b"\x7fELF", "elf"),
    (b"\x00asm", "wasm"),
    (b"SQLite format 3\x00", "sqlite"),
)
_RIFF = re.compile(rb"^RIFF....(WEBP|WAVE|AVI )", re.DOTALL)
_FTYP = re.compile(rb"^....ftyp", re.DOTALL)  # MP4, MOV, HEIC, AVIF
_HTML_END = re.compile(rb"</(html|body)\s*>", re.IGNORECASE)
_UTF8 = "utf-8"


class TruncatedStream(ValueError):
    """A compressed body ended before its compressed stream did."""


class TooLarge(ValueError):
    """A body grew past the size limit while it was being decompressed."""


class CorruptStream(ValueError):
    """A body that is not a valid stream of its ``Content-Encoding`` at all."""


def sniff_binary(body: bytes) -> str | None:
    """The binary format ``body`` starts with, or None if it may be text.

    >>> sniff_binary(b"%PDF-1.7\\n%..."), sniff_binary(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff_binary(b"<p>x")
    ('pdf', 'png', None)
    """
    for magic, name in MAGIC:
        if body.startswith(magic):
            return name
    if _RIFF.match(body[:12]):
        return "riff"
    if _FTYP.match(body[:12]):
        return "iso-media"
    return None


def html_ends(body: bytes) -> bool:
    """Whether an HTML body visibly reaches its end (``</body>`` or ``</html>`` near the end).

    >>> html_ends(b"<html><body><p>x</p></body></html>\\n"), html_ends(b"<html><body><p>The sto")
    (True, False)
    """
    return bool(_HTML_END.search(body[-4096:]))


def corrected_encoding(body: bytes, encoding: str, text: str | None = None) -> str | None:
    """A better charset for ``body`` than ``encoding`` (the declared or guessed one), or None.

    A page declared UTF-8 that is not valid UTF-8 is decoded with the charset of its ``<meta>``,
    else windows-1252 (what browsers fall back to); a page declared in a single-byte charset that
    is valid UTF-8 with non-ASCII characters is UTF-8 (other charsets almost never are). A BOM is
    always right.

    ``text``, the body already decoded from ``encoding`` with replacement characters for bad
    bytes (Scrapy's ``response.text``), spares decoding a UTF-8 page a second time: without a
    U+FFFD in it, the body is valid UTF-8.

    >>> text = "Café “déjà vu”"
    >>> corrected_encoding(text.encode("cp1252"), "utf-8"), corrected_encoding(text.encode(), "cp1252")
    ('cp1252', 'utf-8')
    >>> corrected_encoding(text.encode(), "utf-8") is None, corrected_encoding(b"plain", "cp1252") is None
    (True, True)
    """
    if read_bom(body)[0]:
        return None
    current = _codec(encoding)
    if current is None:
        return None
    if current == _UTF8 and text is not None and "\ufffd" not in text:
        return None
    is_utf8 = _decodes(body, _UTF8)
    if current == _UTF8:
        if is_utf8:
            return None
        meta = html_body_declared_encoding(body)
        for candidate in (meta, "cp1252"):
            name = _codec(candidate) if candidate else None
            if name and name != _UTF8 and _decodes(body, name):
                return name
        return None
    if is_utf8 and not body.isascii() and _ascii_compatible(current):
        return _UTF8
    return None


def _codec(encoding: str | None) -> str | None:
    """The Python codec name for a charset label (``latin-1`` is windows-1252, as in browsers)."""
    name = resolve_encoding(encoding) if encoding else None
    if not name:
        return None
    return codecs.lookup(name).name.replace("_", "-")


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "<a href='x'>".encode(encoding) == b"<a href='x'>" and len("é".encode(encoding)) == 1
    except (UnicodeEncodeError, LookupError):
        return False


# -- strict decompression ------------------------------------------------------------------------

CHUNK = 64 * 1024


def decompress(body: bytes, encoding: str, max_size: int) -> bytes:
    """Decode one ``Content-Encoding``; raise if the stream is cut short or grows past ``max_size``.

    Scrapy's own decoders return whatever a truncated stream yields; an archive must not mistake
    half a page for the page.

    >>> page = b"<html>" + b"x" * 5000 + b"</html>"
    >>> decompress(zlib.compress(page), "deflate", 0) == page
    True
    >>> try:
    ...     decompress(zlib.compress(page)[:-8], "deflate", 0)
    ... except TruncatedStream as exc:
    ...     print(exc)
    truncated deflate stream
    """
    try:
        if encoding in ("gzip", "x-gzip"):
            return _zlib(body, 16 + zlib.MAX_WBITS, max_size, "gzip")
        if encoding == "deflate":
            try:
                return _zlib(body, zlib.MAX_WBITS, max_size, "deflate")
            except zlib.error:  # raw deflate without the zlib header, as some servers send
                return _zlib(body, -zlib.MAX_WBITS, max_size, "deflate")
        if encoding == "br":
            return _brotli(body, max_size)
        if encoding == "zstd":
            return _zstd(body, max_size)
    except (zlib.error, brotli.error, zstd.ZstdError) as exc:
        raise CorruptStream(f"invalid {encoding} stream: {exc}") from exc
    raise ValueError(f"unsupported content encoding {encoding!r}")


def _zlib(body: bytes, wbits: int, max_size: int, name: str) -> bytes:
    out = bytearray()
    data = body
    while data:  # a gzip body may hold several members, one after the other
        decompressor = zlib.decompressobj(wbits)
        chunk = decompressor.decompress(data, CHUNK)
        while chunk:
            out += chunk
            _check_size(len(out), max_size)
            if decompressor.eof:
                break
            chunk = decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
        if not decompressor.eof:
            raise TruncatedStream(f"truncated {name} stream")
        data = decompressor.unused_data.lstrip(b"\x00") if name == "gzip" else b""
    return bytes(out)


def _brotli(body: bytes, max_size: int) -> bytes:
    decompressor = brotli.Decompressor()
    out = bytearray(decompressor.process(body, output_buffer_limit=CHUNK))
    _check_size(len(out), max_size)
    while not decompressor.is_finished():
        chunk = decompressor.process(b"", output_buffer_limit=CHUNK)
        if not chunk:
            raise TruncatedStream("truncated br stream")
        out += chunk
        _check_size(len(out), max_size)
    return bytes(out)


def _zstd(body: bytes, max_size: int) -> bytes:
    decompressor = zstd.ZstdDecompressor()
    out = bytearray(decompressor.decompress(body, CHUNK))
    _check_size(len(out), max_size)
    while not decompressor.eof:
        if decompressor.needs_input:
            raise TruncatedStream("truncated zstd stream")
        out += decompressor.decompress(b"", CHUNK)
        _check_size(len(out), max_size)
    return bytes(out)


def _check_size(size: int, max_size: int) -> None:
    if max_size and size > max_size:
        raise TooLarge(f"over {max_size} bytes once decompressed")
