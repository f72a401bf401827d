"""Consistency checks of an archive file, read with plain sqlite3 (no migrations, no writes)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def problems(db_path: Path | str) -> list[str]:
    """Everything wrong with the archive: corruption, and rows a half-done write would leave.

    Call it when no crawler is running: the full-text index check needs a writable connection.
    """
    if not Path(db_path).exists():
        return []  # killed before it created the file
    conn = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True)
    try:
        return _problems(conn)
    finally:
        conn.close()


def _problems(conn: sqlite3.Connection) -> list[str]:
    found: list[str] = []
    integrity = conn.execute("pragma integrity_check").fetchall()
    if integrity != [("ok",)]:
        found.append(f"integrity_check: {integrity[:5]}")
    if conn.execute("pragma foreign_key_check").fetchall():
        found.append("foreign_key_check failed")
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
    if "versions" not in tables:
        return found  # killed before the schema was created: nothing to check yet
    checks = {
        "duplicate version numbers": """
            select page_id, version from versions group by page_id, version having count(*) > 1""",
        "page version_count differs from its versions": """
            select p.id from pages p
            where p.version_count != (select count(*) from versions v where v.page_id = p.id)""",
        "page current_version_id is not its latest version": """
            select p.id from pages p where p.version_count > 0 and p.current_version_id is not (
              select v.id from versions v where v.page_id = p.id order by v.version desc limit 1)""",
        "version without the capture that made it": """
            select v.id from versions v where not exists (
              select 1 from captures c where c.version_id = v.id and c.outcome in ('new', 'changed'))""",
        "gap in version numbers": """
            select page_id from versions group by page_id having max(version) != count(*)""",
        "body referenced but missing": """
            select c.id from captures c where c.body_sha256 is not null
              and not exists (select 1 from bodies b where b.sha256 = c.body_sha256)""",
        "same text twice in a row (a duplicate version)": """
            select v.id from versions v join versions w
              on w.page_id = v.page_id and w.version = v.version + 1
            where w.content_hash = v.content_hash""",
    }
    for name, sql in checks.items():
        rows = conn.execute(sql).fetchall()
        if rows:
            found.append(f"{name}: {rows[:5]}")
    if "versions_fts" in tables:
        try:
            conn.execute("insert into versions_fts(versions_fts) values('integrity-check')")
        except sqlite3.DatabaseError as exc:
            found.append(f"versions_fts: {exc}")
    return found
