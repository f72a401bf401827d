"""Word-level diffs between two revisions of an article's text, computed on demand.

Texts hold one paragraph per line. Paragraphs are aligned first; only the words of edited
paragraphs are then diffed, so a one-word fix in a long article shows that one word.
Every diff function returns the same shape (→ web-monitoring-diff):
``{"diff": …, "change_count": n, "words_added": x, "words_removed": y}``.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    _Mark = Callable[[str], str]  # renders one run of text: escaped, marked or dropped

# Words, whitespace runs and single punctuation marks: joining the tokens gives the text back, and
# "2023," → "2025," marks the number alone instead of the number with its comma.
_TOKEN_RE = re.compile(r"\w+|\s+|[^\w\s]")
# Edited paragraphs are shown as one paragraph with marked words only if they share this share of
# their words; below it a word diff is mostly marks and reads worse than "removed + added".
_PAIR_MIN_RATIO = 0.5
# Pairing compares every old paragraph of a replaced block with every new one. Past this many
# comparisons (a rewritten article) it would be slow for a web request: show whole paragraphs.
_PAIR_MAX_COMPARISONS = 10_000
# Terminal output is untrusted page text too: ESC and friends could drive the terminal, and bidi
# overrides could make the shown words differ from the stored ones.
_UNSAFE_FOR_TERMINAL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_RED, _GREEN, _BOLD, _CYAN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[36m", "\x1b[m"

Kind = Literal["equal", "changed", "added", "removed"]


@dataclass(frozen=True)
class _Segment:
    """A run of tokens inside an edited paragraph; old == new when not changed."""

    old: str
    new: str
    changed: bool


@dataclass(frozen=True)
class _Row:
    """One aligned pair of paragraphs; the missing side of added/removed rows is ""."""

    kind: Kind
    left: str
    right: str
    segments: tuple[_Segment, ...] = ()  # only for "changed" rows


def paragraphs(text: str) -> list[str]:
    r"""Split text into paragraphs: one per line, stripped, empty lines dropped.

    >>> paragraphs("  First one.\n\n Second \r\n")
    ['First one.', 'Second']
    """
    return [line.strip() for line in text.splitlines() if line.strip()]


def tokenize(text: str) -> list[str]:
    """Split text into words, whitespace runs and punctuation marks; joined, they give text back.

    >>> tokenize("On October 17, 2023.")
    ['On', ' ', 'October', ' ', '17', ',', ' ', '2023', '.']
    """
    return _TOKEN_RE.findall(text)


def word_changes(a: str, b: str) -> tuple[int, int]:
    """Return (words_added, words_removed) of b against a, words as ``str.split()`` sees them.

    >>> word_changes("On October 17, 2023.", "On October 17, 2025.")
    (1, 1)
    >>> word_changes("", "Three little words")
    (3, 0)
    """
    summary = _summarize(_align(a, b))
    return summary["words_added"], summary["words_removed"]


def diff_html(a: str, b: str) -> dict[str, Any]:
    """Diff two texts as HTML: one ``<p>`` per paragraph, words marked with ``<del>``/``<ins>``."""
    rows = _align(a, b)
    return {"diff": "\n".join(_html_paragraph(row) for row in rows), **_summarize(rows)}


def diff_side_by_side(a: str, b: str) -> dict[str, Any]:
    """Diff two texts as rows of ``{"kind", "left", "right"}``, one per aligned paragraph pair."""
    rows = _align(a, b)
    return {"diff": [_side_by_side_row(row) for row in rows], **_summarize(rows)}


def diff_unified(
    a: str,
    b: str,
    *,
    from_label: str = "before",
    to_label: str = "after",
    context: int = 1,
    color: bool = False,
) -> dict[str, Any]:
    """Diff two texts as terminal text: paragraph hunks with words marked as git --word-diff does.

    Args:
        a: The older text.
        b: The newer text.
        from_label: Name of the older text on the ``---`` line.
        to_label: Name of the newer text on the ``+++`` line.
        context: Unchanged paragraphs shown around each change.
        color: Mark words with ANSI red/green instead of ``[-…-]``/``{+…+}``.

    Returns:
        The usual diff dict; its "diff" is "" when nothing changed.
    """
    if context < 0:
        raise ValueError(f"context must be >= 0, not {context}")
    rows = _align(a, b)
    summary = _summarize(rows)
    if not summary["change_count"]:
        return {"diff": "", **summary}
    bold, cyan, reset = (_BOLD, _CYAN, _RESET) if color else ("", "", "")
    lines = [
        f"{bold}--- {_terminal_safe(from_label)}{reset}",
        f"{bold}+++ {_terminal_safe(to_label)}{reset}",
    ]
    # Paragraph numbers on each side where each row starts, for the hunk headers.
    left_at, right_at = [0], [0]
    for row in rows:
        left_at.append(left_at[-1] + (row.kind != "added"))
        right_at.append(right_at[-1] + (row.kind != "removed"))
    for start, stop in _hunks(rows, context):
        left = _unified_range(left_at[start], left_at[stop] - left_at[start])
        right = _unified_range(right_at[start], right_at[stop] - right_at[start])
        lines.append(f"{cyan}@@ -{left} +{right} @@{reset}")
        lines.extend(_unified_line(row, color) for row in rows[start:stop])
    return {"diff": "\n".join(lines) + "\n", **summary}


def _matcher(a: Sequence[str], b: Sequence[str]) -> difflib.SequenceMatcher[str]:
    # autojunk would treat frequent tokens (spaces, "the") as junk in long texts and misalign them.
    return difflib.SequenceMatcher(None, a, b, autojunk=False)


def _align(a: str, b: str) -> list[_Row]:
    """Align the paragraphs of two texts, pairing edited ones and diffing their tokens."""
    old, new = paragraphs(a), paragraphs(b)
    rows: list[_Row] = []
    for tag, i1, i2, j1, j2 in _matcher(old, new).get_opcodes():
        if tag == "equal":
            rows.extend(_Row("equal", p, p) for p in old[i1:i2])
            continue
        for i, j in _pair(old[i1:i2], new[j1:j2]):
            left = "" if i is None else old[i1 + i]
            right = "" if j is None else new[j1 + j]
            if left and right:
                rows.append(_Row("changed", left, right, _segments(left, right)))
            else:  # paragraphs are never empty, so an empty side means a whole paragraph
                rows.append(_Row("removed" if left else "added", left, right))
    return rows


def _pair(old: list[str], new: list[str]) -> list[tuple[int | None, int | None]]:
    """Pair a replaced block's paragraphs in order, most similar overall; the rest stand alone."""
    n, m = len(old), len(new)
    if n * m > _PAIR_MAX_COMPARISONS:
        return [(i, None) for i in range(n)] + [(None, j) for j in range(m)]
    new_words = [p.split() for p in new]
    ratio = [[_similarity(p.split(), words) for words in new_words] for p in old]
    # best[i][j]: the largest total similarity of an in-order pairing of old[i:] with new[j:].
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1])
            if ratio[i][j] >= _PAIR_MIN_RATIO:
                best[i][j] = max(best[i][j], ratio[i][j] + best[i + 1][j + 1])
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n and j < m:  # ties go to removals first, as in a unified diff
        if ratio[i][j] >= _PAIR_MIN_RATIO and best[i][j] == ratio[i][j] + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            pairs.append((i, None))
            i += 1
        else:
            pairs.append((None, j))
            j += 1
    return pairs + [(k, None) for k in range(i, n)] + [(None, k) for k in range(j, m)]


def _similarity(a: list[str], b: list[str]) -> float:
    matcher = _matcher(a, b)
    if matcher.quick_ratio() < _PAIR_MIN_RATIO:
        return 0.0  # quick_ratio is a cheap upper bound: the full ratio cannot pass either
    return matcher.ratio()


def _segments(a: str, b: str) -> tuple[_Segment, ...]:
    """Token diff of two paragraphs, as runs of unchanged and changed text."""
    old, new = tokenize(a), tokenize(b)
    merged: list[_Segment] = []
    for tag, i1, i2, j1, j2 in _matcher(old, new).get_opcodes():
        segment = _Segment("".join(old[i1:i2]), "".join(new[j1:j2]), tag != "equal")
        # "a b c" → "x y z" keeps only its spaces; marking each word on its own is noise, so
        # changes separated by nothing but whitespace become one change.
        if segment.changed and _whitespace_gap(merged):
            gap, previous = merged.pop(), merged.pop()
            segment = _Segment(
                previous.old + gap.old + segment.old, previous.new + gap.new + segment.new, True
            )
        merged.append(segment)
    return tuple(merged)


def _whitespace_gap(segments: list[_Segment]) -> bool:
    """Whether the segments end with a change followed by unchanged whitespace only."""
    return (
        len(segments) > 1
        and segments[-2].changed
        and not segments[-1].changed
        and segments[-1].old.isspace()
    )


def _count_words(a: str, b: str) -> tuple[int, int]:
    """(added, removed) between two paragraphs, diffing ``str.split()`` words."""
    added = removed = 0
    for tag, i1, i2, j1, j2 in _matcher(a.split(), b.split()).get_opcodes():
        if tag != "equal":
            added, removed = added + j2 - j1, removed + i2 - i1
    return added, removed


def _summarize(rows: list[_Row]) -> dict[str, int]:
    """change_count (contiguous changed runs) and word counts of aligned rows."""
    changes = added = removed = 0
    previous: Kind = "equal"
    for row in rows:
        if row.kind == "changed":
            changes += sum(segment.changed for segment in row.segments)
            row_added, row_removed = _count_words(row.left, row.right)
            added, removed = added + row_added, removed + row_removed
        elif row.kind != "equal":
            # Whole paragraphs removed and/or added next to each other are one change.
            changes += previous not in ("added", "removed")
            added, removed = added + len(row.right.split()), removed + len(row.left.split())
        previous = row.kind
    return {"change_count": changes, "words_added": added, "words_removed": removed}


def _render(row: _Row, plain: _Mark, removed: _Mark, added: _Mark) -> str:
    """One row as text: unchanged runs through ``plain``, changed ones through the two marks."""
    if row.kind == "equal":
        return plain(row.left)
    # A whole added/removed paragraph renders as a single change with one empty side.
    segments = row.segments or (_Segment(row.left, row.right, True),)
    return "".join(removed(s.old) + added(s.new) if s.changed else plain(s.old) for s in segments)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)  # page text is untrusted: escape every piece of it


def _tag(name: str) -> _Mark:
    return lambda text: f"<{name}>{_escape(text)}</{name}>" if text else ""


def _drop(text: str) -> str:
    return ""


def _html_paragraph(row: _Row) -> str:
    css = f' class="{row.kind}"' if row.kind in ("added", "removed") else ""
    return f"<p{css}>{_render(row, _escape, _tag('del'), _tag('ins'))}</p>"


def _side_by_side_row(row: _Row) -> dict[str, str]:
    left = _render(row, _escape, _tag("del"), _drop) if row.left else ""
    right = _render(row, _escape, _drop, _tag("ins")) if row.right else ""
    return {"kind": row.kind, "left": left, "right": right}


def _hunks(rows: list[_Row], context: int) -> list[tuple[int, int]]:
    """Row ranges [start, stop) around changes, joined where their context would touch."""
    hunks: list[tuple[int, int]] = []
    for k, row in enumerate(rows):
        if row.kind == "equal":
            continue
        start, stop = max(0, k - context), min(len(rows), k + context + 1)
        if hunks and start <= hunks[-1][1]:
            hunks[-1] = (hunks[-1][0], stop)
        else:
            hunks.append((start, stop))
    return hunks


def _unified_range(start: int, length: int) -> str:
    """A hunk header's range, 1-based, the way difflib.unified_diff writes it.

    >>> _unified_range(0, 1), _unified_range(2, 3), _unified_range(4, 0)
    ('1', '3,3', '4,0')
    """
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"  # an empty range names the line before


def _terminal_safe(text: str) -> str:
    return _UNSAFE_FOR_TERMINAL_RE.sub("\N{REPLACEMENT CHARACTER}", text)


def _unified_line(row: _Row, color: bool) -> str:
    def mark(before: str, after: str) -> _Mark:
        return lambda text: f"{before}{_terminal_safe(text)}{after}" if text else ""

    if color:
        return _render(row, _terminal_safe, mark(_RED, _RESET), mark(_GREEN, _RESET))
    return _render(row, _terminal_safe, mark("[-", "-]"), mark("{+", "+}"))
