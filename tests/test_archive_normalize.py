"""What counts as the same text."""

from __future__ import annotations

import unicodedata

from archive.normalize import fingerprint, normalize_text, word_count
from archive.urls import is_http_url, normalize_url


def test_normalize_text_forms():
    decomposed = unicodedata.normalize("NFD", "café")
    assert normalize_text(decomposed) == "café"
    assert (
        normalize_text("\u2018quoted\u2019 \u201cdouble\u201d \u2014 dash\u2026")
        == "'quoted' \"double\" - dash..."
    )
    assert normalize_text("a\u00a0b\tc   d") == "a b c d"
    assert normalize_text("para one\n\n\n  para two  \n") == "para one\npara two"
    assert normalize_text("soft\u00adhyphen zero\u200bwidth") == "softhyphen zerowidth"
    assert normalize_text(None) == ""


def test_fingerprint_ignores_cosmetics_and_sees_edits():
    base = fingerprint("Title", "Ann", "One two three.\nFour five.")
    assert base == fingerprint("Title ", "Ann", "One  two three.\n\nFour five.\n")
    assert base == fingerprint("Title", "Ann", "One\u00a0two three.\nFour five.")
    assert base != fingerprint("Title", "Ann", "One two four.\nFour five.")
    assert base != fingerprint("Title!", "Ann", "One two three.\nFour five.")
    assert base != fingerprint("Title", "Bob", "One two three.\nFour five.")
    # Paragraph breaks are content: merging two paragraphs is an edit.
    assert base != fingerprint("Title", "Ann", "One two three. Four five.")


def test_word_count():
    assert word_count("") == 0
    assert word_count("a b\nc") == 3


def test_normalize_url():
    assert normalize_url("HTTP://Example.com:80/a?utm_medium=x&b=2&fbclid=y#top") == (
        "http://example.com/a?b=2"
    )
    assert normalize_url("https://example.com:8443/a/") == "https://example.com:8443/a/"
    assert is_http_url("https://example.com/x")
    assert not is_http_url("javascript:alert(1)")
    assert not is_http_url("file:///etc/passwd")
    assert not is_http_url(None)
