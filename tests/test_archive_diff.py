from __future__ import annotations

import html
import random
import re

import pytest

from archive.diff import (
    diff_html,
    diff_side_by_side,
    diff_unified,
    paragraphs,
    tokenize,
    word_changes,
)

DIFFS = [diff_html, diff_side_by_side, diff_unified]
MARK_RE = re.compile(r"</?(?:del|ins)>")
PARAGRAPH_RE = re.compile(r"<p[^>]*>(.*)</p>")

VOCABULARY = ["the", "mayor", "said", "on", "a", "council", "vote", "city", "budget", "road"]


def article(n: int = 50, seed: int = 0) -> str:
    """A synthetic article of n paragraphs, each 8-20 words with a little punctuation."""
    rng = random.Random(seed)
    lines = []
    for k in range(n):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 20))]
        words[rng.randrange(len(words))] += ","
        lines.append(f"Paragraph {k}: " + " ".join(words) + ".")
    return "\n".join(lines)


def sides_of_html(diff: str) -> tuple[list[str], list[str]]:
    """Rebuild both texts' paragraphs from diff_html output: drop one side's marks and unescape."""
    old, new = [], []
    for inner in PARAGRAPH_RE.findall(diff):
        old.append(html.unescape(MARK_RE.sub("", re.sub(r"<ins>.*?</ins>", "", inner))))
        new.append(html.unescape(MARK_RE.sub("", re.sub(r"<del>.*?</del>", "", inner))))
    return [p for p in old if p], [p for p in new if p]


def sides_of_rows(rows: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """Rebuild both texts' paragraphs from diff_side_by_side rows."""
    old = [html.unescape(MARK_RE.sub("", row["left"])) for row in rows if row["left"]]
    new = [html.unescape(MARK_RE.sub("", row["right"])) for row in rows if row["right"]]
    return old, new


def assert_round_trip(a: str, b: str) -> None:
    """Both texts can be read back, exactly, from every HTML rendering of their diff."""
    for old, new in [(a, b), (b, a)]:
        expected = (paragraphs(old), paragraphs(new))
        assert sides_of_html(diff_html(old, new)["diff"]) == expected
        assert sides_of_rows(diff_side_by_side(old, new)["diff"]) == expected
    for paragraph in paragraphs(a) + paragraphs(b):
        assert "".join(tokenize(paragraph)) == paragraph


def test_paragraphs_strips_and_drops_blank_lines() -> None:
    assert paragraphs("\n  One.  \r\n\n\tTwo\n   \n") == ["One.", "Two"]
    assert paragraphs("") == []


@pytest.mark.parametrize("text", ["", "One paragraph.", article(20)])
def test_equal_texts_have_no_changes(text: str) -> None:
    for diff in DIFFS:
        result = diff(text, text)
        assert result["change_count"] == 0
        assert (result["words_added"], result["words_removed"]) == (0, 0)
    assert word_changes(text, text) == (0, 0)
    assert diff_unified(text, text)["diff"] == ""
    assert "<del>" not in diff_html(text, text)["diff"]
    assert "<ins>" not in diff_html(text, text)["diff"]
    assert {row["kind"] for row in diff_side_by_side(text, text)["diff"]} <= {"equal"}


def test_one_word_changed_in_a_long_text_marks_only_that_word() -> None:
    a = article(50)
    lines = a.split("\n")
    words = lines[31].split()
    old_word = words[5].rstrip(",")
    words[5] = words[5].replace(old_word, "zebra")  # keeps a trailing comma, if any
    lines[31] = " ".join(words)
    b = "\n".join(lines)

    result = diff_html(a, b)
    assert (result["words_added"], result["words_removed"], result["change_count"]) == (1, 1, 1)
    assert word_changes(a, b) == (1, 1)
    assert re.findall(r"<del>(.*?)</del>", result["diff"]) == [old_word]
    assert re.findall(r"<ins>(.*?)</ins>", result["diff"]) == ["zebra"]
    assert 'class="' not in result["diff"]
    assert result["diff"].count("<p>") == 50

    rows = diff_side_by_side(a, b)["diff"]
    assert [k for k, row in enumerate(rows) if row["kind"] != "equal"] == [31]
    assert rows[31]["kind"] == "changed"
    assert "<ins>" not in rows[31]["left"]
    assert "<del>" not in rows[31]["right"]


def test_fixed_date_marks_the_year_only() -> None:
    a = "Intro.\nOn October 17, 2023, the council voted.\nOutro."
    b = "Intro.\nOn October 17, 2025, the council voted.\nOutro."
    result = diff_html(a, b)
    assert result["diff"] == (
        "<p>Intro.</p>\n"
        "<p>On October 17, <del>2023</del><ins>2025</ins>, the council voted.</p>\n"
        "<p>Outro.</p>"
    )
    assert (result["change_count"], result["words_added"], result["words_removed"]) == (1, 1, 1)


def test_paragraph_added() -> None:
    a = "First.\nSecond paragraph here."
    b = "First.\nA brand new paragraph.\nSecond paragraph here."
    result = diff_html(a, b)
    assert '<p class="added"><ins>A brand new paragraph.</ins></p>' in result["diff"]
    assert (result["change_count"], result["words_added"], result["words_removed"]) == (1, 4, 0)
    kinds = [row["kind"] for row in diff_side_by_side(a, b)["diff"]]
    assert kinds == ["equal", "added", "equal"]


def test_paragraph_removed() -> None:
    a = "First.\nA doomed paragraph.\nLast."
    b = "First.\nLast."
    result = diff_html(a, b)
    assert '<p class="removed"><del>A doomed paragraph.</del></p>' in result["diff"]
    assert (result["change_count"], result["words_added"], result["words_removed"]) == (1, 0, 3)
    rows = diff_side_by_side(a, b)["diff"]
    assert rows[1] == {"kind": "removed", "left": "<del>A doomed paragraph.</del>", "right": ""}


def test_paragraph_moved_is_removed_and_added() -> None:
    a = "Alpha one.\nBravo two.\nCharlie three.\nDelta four."
    b = "Bravo two.\nCharlie three.\nDelta four.\nAlpha one."
    result = diff_side_by_side(a, b)
    assert [row["kind"] for row in result["diff"]] == [
        "removed",
        "equal",
        "equal",
        "equal",
        "added",
    ]
    assert (result["change_count"], result["words_added"], result["words_removed"]) == (2, 2, 2)


def test_edited_paragraph_next_to_an_inserted_one_is_still_paired() -> None:
    a = "Intro.\nThe mayor said the budget would pass on Monday.\nOutro."
    b = "Intro.\nBreaking: a vote.\nThe mayor said the budget would pass on Tuesday.\nOutro."
    rows = diff_side_by_side(a, b)["diff"]
    assert [row["kind"] for row in rows] == ["equal", "added", "changed", "equal"]
    assert rows[2]["left"] == "The mayor said the budget would pass on <del>Monday</del>."
    assert rows[2]["right"] == "The mayor said the budget would pass on <ins>Tuesday</ins>."
    assert word_changes(a, b) == (4, 1)


def test_rewritten_paragraph_is_shown_whole() -> None:
    rows = diff_side_by_side("Old words here.", "Entirely different text now.")["diff"]
    assert [row["kind"] for row in rows] == ["removed", "added"]


def test_rewritten_article_falls_back_to_whole_paragraphs() -> None:
    a = "\n".join(f"Old paragraph number {k}." for k in range(150))
    b = "\n".join(f"New text {k} here." for k in range(150))
    kinds = [row["kind"] for row in diff_side_by_side(a, b)["diff"]]
    assert kinds == ["removed"] * 150 + ["added"] * 150
    assert word_changes(a, b) == (600, 600)


def test_changes_separated_by_spaces_are_one_run() -> None:
    result = diff_html("keep a b c keep too", "keep x y z keep too")
    assert "<del>a b c</del><ins>x y z</ins>" in result["diff"]
    assert result["change_count"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "Tom &amp; Jerry's <b>bold</b>",
    ],
)
def test_page_text_is_escaped(payload: str) -> None:
    a = "Safe intro.\nThe quote was: nothing.\nRemoved paragraph " + payload
    b = f"Safe intro.\nThe quote was: {payload}\nAdded paragraph {payload}"
    outputs = [diff_html(a, b)["diff"], diff_html(b, a)["diff"]]
    for rows in (diff_side_by_side(a, b)["diff"], diff_side_by_side(b, a)["diff"]):
        outputs += [row["left"] for row in rows] + [row["right"] for row in rows]
    text = "\n".join(outputs)
    # Once our own tags are gone, no markup character of the page may be left.
    page_text = re.sub(r'</?(?:del|ins|p)>|<p class="(?:added|removed)">', "", text)
    assert not set('<>"') & set(page_text)
    assert "<script" not in text
    assert "<img" not in text
    assert html.escape(payload, quote=True) in text
    if "&amp;" in payload:
        assert "&amp;amp;" in text
    assert_round_trip(a, b)


def test_unified_plain() -> None:
    a = "One.\nTwo.\nOn October 17, 2023, it rained.\nFour.\nFive.\nSix.\nSeven."
    b = "One.\nTwo.\nOn October 17, 2025, it rained.\nFour.\nFive.\nSix.\nSeven.\nEight is new."
    result = diff_unified(a, b, from_label="v1", to_label="v2")
    assert result["diff"] == (
        "--- v1\n"
        "+++ v2\n"
        "@@ -2,3 +2,3 @@\n"
        "Two.\n"
        "On October 17, [-2023-]{+2025+}, it rained.\n"
        "Four.\n"
        "@@ -7 +7,2 @@\n"
        "Seven.\n"
        "{+Eight is new.+}\n"
    )
    assert (result["change_count"], result["words_added"], result["words_removed"]) == (2, 4, 1)
    assert "\x1b" not in result["diff"]


def test_unified_context_and_removed_paragraph() -> None:
    a = "One.\nTwo.\nThree."
    b = "One.\nThree."
    assert (
        diff_unified(a, b, context=0)["diff"] == "--- before\n+++ after\n@@ -2 +1,0 @@\n[-Two.-]\n"
    )
    whole = diff_unified(a, b, context=5)["diff"]
    assert whole.splitlines()[2:] == ["@@ -1,3 +1,2 @@", "One.", "[-Two.-]", "Three."]
    with pytest.raises(ValueError, match="context"):
        diff_unified(a, b, context=-1)


def test_unified_color() -> None:
    a = "Intro.\nOn October 17, 2023, it rained."
    b = "Intro.\nOn October 17, 2025, it rained.\nNew."
    text = diff_unified(a, b, color=True)["diff"]
    assert "\x1b[31m2023\x1b[m\x1b[32m2025\x1b[m" in text
    assert "\x1b[32mNew.\x1b[m" in text
    assert "[-" not in text
    assert "{+" not in text


def test_unified_neutralises_terminal_escapes() -> None:
    text = diff_unified("Hello.", "Hello \x1b[2Jthere\u202e.")["diff"]
    assert "\x1b[2J" not in text
    assert "\u202e" not in text


def test_word_changes_from_and_to_empty() -> None:
    text = article(5)
    n = len(text.split())
    assert word_changes("", text) == (n, 0)
    assert word_changes(text, "") == (0, n)
    assert word_changes("", "") == (0, 0)
    assert word_changes("one two three", "one deux three") == (1, 1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("", "Just one."),
        ("A b c.", "A b c d."),
        ("Hello,  world!\nSecond.", "Hello world!!\nSecond, changed."),
        ("Tabs\tand   spaces.", "Tabs and spaces."),
        ("Ünïcödé — “quotes” café.", "Ünïcödé – «quotes» cafés."),
        ("x\ny\nz", "z\ny\nx"),
        ("Para one is long enough.\nPara two.", "Para one is long enough!\nNew.\nPara two!"),
    ],
)
def test_sides_round_trip(a: str, b: str) -> None:
    assert_round_trip(a, b)


def random_edit(rng: random.Random, lines: list[str]) -> None:
    """Apply one random word or paragraph edit to lines, in place."""
    k = rng.randrange(len(lines))
    words = lines[k].split(" ")
    edit = rng.choice(["replace", "insert", "delete", "add paragraph", "drop paragraph"])
    if edit == "add paragraph":
        lines.insert(k, " ".join(rng.choices(VOCABULARY, k=6)))
        return
    if edit == "drop paragraph" and len(lines) > 1:
        del lines[k]
        return
    if edit == "replace":
        words[rng.randrange(len(words))] = rng.choice(VOCABULARY) + rng.choice(["", ",", "!"])
    elif edit == "insert":
        words.insert(rng.randrange(len(words) + 1), rng.choice(VOCABULARY))
    elif len(words) > 1:
        del words[rng.randrange(len(words))]
    lines[k] = " ".join(words)


@pytest.mark.parametrize("seed", range(10))
def test_random_edits_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    original = article(30, seed=seed)
    lines = original.split("\n")
    for _ in range(rng.randint(1, 8)):
        random_edit(rng, lines)
    edited = "\n".join(lines)
    assert_round_trip(original, edited)
    assert diff_html(original, edited) == diff_html(original, edited)  # deterministic


@pytest.mark.parametrize("seed", range(5))
def test_single_random_word_swap_counts_one_and_one(seed: int) -> None:
    rng = random.Random(seed)
    lines = article(40, seed=seed).split("\n")
    k = rng.randrange(len(lines))
    words = lines[k].split()
    position = rng.randrange(2, len(words))  # not the "Paragraph k:" label
    words[position] = "zebra"
    lines[k] = " ".join(words)
    a, b = article(40, seed=seed), "\n".join(lines)
    for diff in DIFFS:
        result = diff(a, b)
        assert (result["change_count"], result["words_added"], result["words_removed"]) == (1, 1, 1)
    assert diff_html(a, b)["diff"].count("<ins>zebra</ins>") == 1
