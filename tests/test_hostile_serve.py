"""Issue 4: Datasette serves the live archive read-only, never immutable, with a SQL time limit."""

from __future__ import annotations

import sqlite3
import time

import pytest

from archive.db import open_db
from archive.serve import datasette_command, load_settings, make_datasette

ENDLESS = "with recursive n(i) as (select 1 union all select i + 1 from n) select count(*) from n"


@pytest.fixture
def archive_path(tmp_path):
    path = tmp_path / "archive.db"
    open_db(path).close()
    return path


def test_the_live_archive_is_never_opened_immutable(archive_path):
    command = datasette_command(archive_path, port=8001)
    assert "-i" not in command
    assert "--immutable" not in command
    assert str(archive_path) in command  # served as a mutable file: a crawl may be writing it
    ds = make_datasette(archive_path)
    assert ds.databases["archive"].is_mutable


@pytest.mark.asyncio
async def test_datasette_cannot_write_the_archive(archive_path):
    ds = make_datasette(archive_path)
    response = await ds.client.get(
        "/archive.json", params={"sql": "insert into sites (url, host, added_at) values (1, 1, 1)"}
    )
    assert response.status_code == 400
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await ds.databases["archive"].execute_fn(
            lambda conn: conn.execute("create table pwned (x)")
        )
    tables = [r[0] for r in sqlite3.connect(archive_path).execute("select name from sqlite_master")]
    assert "pwned" not in tables


@pytest.mark.asyncio
async def test_sql_queries_have_a_time_limit(archive_path):
    limit_ms = load_settings()["sql_time_limit_ms"]
    assert 0 < limit_ms <= 5000
    ds = make_datasette(archive_path)
    started = time.monotonic()
    response = await ds.client.get("/archive.json", params={"sql": ENDLESS})
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "SQL query took too long" in response.text
    assert limit_ms / 1000 * 0.8 < elapsed < limit_ms / 1000 + 3
