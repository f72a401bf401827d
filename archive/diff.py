"""Placeholder replaced by the real word diff (being written)."""
from __future__ import annotations
import difflib

def word_changes(a: str, b: str) -> tuple[int, int]:
    sm = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    added = removed = 0
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op in ("replace", "delete"):
            removed += i2 - i1
        if op in ("replace", "insert"):
            added += j2 - j1
    return added, removed
