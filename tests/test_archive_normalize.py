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


def test_strip_volatile_only_touches_short_lines():
    from archive.normalize import strip_volatile

    assert strip_volatile("Updated 5 minutes ago\nBody text.") == "Body text."
    assert strip_volatile("By Ann · 2h ago · 1,204 views · Comments (12)") == "By Ann · · ·"
    assert strip_volatile("Just now\nan hour ago\n3 days ago") == ""
    prose = "The fire started 3 hours ago, said a neighbour who watched it from across the street."
    assert strip_volatile(prose) == prose  # long lines are the article's own words
    assert strip_volatile("In 2019 the team won 12 games.") == "In 2019 the team won 12 games."


def test_fingerprint_compares_the_detection_text_when_there_is_one():
    from archive.models import Article
    from archive.normalize import content_fingerprint

    plain = Article(title="T", author="A", text="Body")
    assert content_fingerprint(plain) == fingerprint("T", "A", "Body")  # as before detection text
    seen = Article(title="T", author="A", text="Body", detection_text="headline: T\nBody")
    assert content_fingerprint(seen) == fingerprint("T", "A", "Body", "headline: T\nBody")
    assert content_fingerprint(seen) != content_fingerprint(plain)
    # The detection text holds the text's lines: it decides alone.
    other_text = Article(title="T", author="A", text="Body!", detection_text="headline: T\nBody")
    assert content_fingerprint(other_text) == content_fingerprint(seen)
    edited = Article(title="T", author="A", text="Body", detection_text="headline: T2\nBody")
    assert content_fingerprint(edited) != content_fingerprint(seen)
    ticking = Article(
        title="T", author="A", text="Body", detection_text="headline: T\n4 comments\nBody"
    )
    assert content_fingerprint(ticking) == content_fingerprint(seen)


def _reference_normalize_text(value: str) -> str:
    """normalize_text as first written (per-line regex and str.translate): fingerprints of
    archived versions were computed with it, so the faster one must agree on every input."""
    import re

    from archive.normalize import _PUNCTUATION

    value = unicodedata.normalize("NFC", value).translate(_PUNCTUATION)
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def test_normalize_text_agrees_with_its_first_definition_on_tricky_input():
    import random

    from archive.normalize import _PUNCTUATION

    rng = random.Random(5)
    # Every line boundary str.splitlines knows, odd spaces, the mapped punctuation, and
    # characters NFC composes (e + combining acute) or leaves alone (the fi ligature).
    alphabet = list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u00a0\u2009\u3000ab1.")
    alphabet += [chr(code) for code in _PUNCTUATION] + ["e\u0301", "\ufb01", "\u00e9"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert normalize_text(text) == _reference_normalize_text(text), repr(text)
