"""Extraction quality as the article-extraction-benchmark scores it (4-gram shingles of words)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """The multiset of ``size``-word shingles of ``text`` (the whole text if it is shorter).

    >>> sorted(shingles("a b c d e"))
    [('a', 'b', 'c', 'd'), ('b', 'c', 'd', 'e')]
    """
    words = _WORD.findall(text or "")
    if len(words) < size:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def page_scores(truth: str, extracted: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page, normalised to sum to 1 as the benchmark does.

    >>> page_scores("one two three four five", "one two three four five")
    (1.0, 0.0, 0.0)
    """
    want, got = shingles(truth), shingles(extracted)
    if not want and not got:
        return 1.0, 0.0, 0.0
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return tp / total, fp / total, fn / total


def f1_score(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 over (truth, extracted) pairs, pages weighted equally."""
    tp = fp = fn = 0.0
    count = 0
    for truth, extracted in pairs:
        a, b, c = page_scores(truth, extracted)
        tp, fp, fn, count = tp + a, fp + b, fn + c, count + 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pages": count}
