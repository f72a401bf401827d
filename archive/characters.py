"""Give extracted text back the page's own characters.

trafilatura drops "format" characters (the zero-width joiner of 👩‍👩‍👧, bidi marks and
isolates) and the text can come out composed (NFC) where the page had ``e`` + U+0301. An archive
must keep what the publisher wrote, byte for byte, so each extracted line that matches a block of
the page up to those differences is replaced by the page's own text. Pages without such
characters (nearly all) skip all of this.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from lxml.etree import XPath

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Combining marks, zero-width and bidi format characters, variation selectors, tag characters.
_FRAGILE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0e31-\u0e3a"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\ufeff\U000e0000-\U000e007f]"
)
_BLOCKS = XPath(  # one pass over the page, in page order as a union of //p, //li… would be
    "//*[self::p or self::li or self::h1 or self::h2 or self::h3 or self::h4 or self::h5"
    " or self::h6 or self::blockquote or self::td or self::dd or self::title]"
)


def has_fragile_characters(text: str) -> bool:
    """Whether ``text`` holds characters extraction may alter.

    >>> has_fragile_characters("Cafe\\u0301"), has_fragile_characters("Café")
    (True, False)
    """
    return _FRAGILE.search(text) is not None


def comparable(text: str) -> str:
    """``text`` as extraction leaves it: printable characters only, NFC, collapsed spaces.

    >>> comparable("Cafe\\u0301 \\U0001f469\\u200d\\U0001f467") == comparable("Café 👩👧")
    True
    """
    kept = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    return " ".join(unicodedata.normalize("NFC", kept).split())


def restore_characters(tree: HtmlElement, lines: list[str]) -> list[str]:
    """Replace each line that equals a page block up to ``comparable`` by that block's text."""
    originals: dict[str, str] = {}
    for element in _BLOCKS(tree):
        original = " ".join(element.text_content().split())
        if has_fragile_characters(original):
            originals.setdefault(comparable(original), original)
    if not originals:
        return lines
    return [originals.get(comparable(line), line) for line in lines]
