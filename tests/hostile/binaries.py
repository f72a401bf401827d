"""Binary files that carry readable HTML inside (polyglots), to serve as ``text/html``.

An HTML parser finds the ``<p>`` elements in them, so without sniffing the magic bytes they would
be extracted and archived as articles.
"""

from __future__ import annotations

import struct
import zlib

from tests.hostile.pages import LOREM


def html_paragraphs(marker: str, n: int = 8) -> str:
    return "".join(f"<p>{marker} paragraph {i}. {LOREM}</p>" for i in range(n))


def pdf(marker: str) -> bytes:
    """A one-page PDF whose uncompressed content stream shows paragraphs of text."""
    lines = [
        f"BT /F1 12 Tf 72 {700 - 20 * i} Td ({line}) Tj ET"
        for i, line in enumerate(html_paragraphs(marker).replace("</p>", "</p>\n").splitlines())
    ]
    stream = "\n".join(lines).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = b"%PDF-1.4\n"
    for number, obj in enumerate(objects, 1):
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def png(marker: str) -> bytes:
    """A 1×1 PNG with a ``tEXt`` chunk holding paragraphs (image descriptions can be long)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = b"Description\x00" + html_paragraphs(marker).encode("latin-1")
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", text),
            chunk(b"IDAT", zlib.compress(b"\x00\x00")),
            chunk(b"IEND", b""),
        ]
    )
