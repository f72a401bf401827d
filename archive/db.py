"""Opening the archive: one SQLite file in WAL mode, migrated to the current schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from archive.migrations import migrations

BUSY_TIMEOUT_MS = 10_000


class ArchiveError(Exception):
    """The archive cannot be opened or used."""


def open_db(path: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at ``path`` in WAL mode and apply pending migrations.

    WAL lets Datasette read while the crawler writes; ``synchronous=NORMAL`` is durable across
    application crashes in WAL mode and only risks the last commits on power loss, never corruption.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ArchiveError(f"directory does not exist: {path.parent}")
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        if migrate:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"cannot open archive {path}: {exc}") from exc
    return db


def memory_db() -> sqlite_utils.Database:
    """A fresh in-memory archive with the schema applied (for tests and experiments)."""
    db = sqlite_utils.Database(memory=True)
    db.execute("PRAGMA foreign_keys = ON")
    migrations.apply(db)
    return db
