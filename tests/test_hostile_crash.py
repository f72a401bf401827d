"""Issue 4, crash safety: kill -9 the crawler at random moments, restart it, lose nothing; read the
live archive from Datasette while it is written; back it up while it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time

import pytest
import sqlite_utils

from archive.db import open_db
from archive.serve import make_datasette
from tests.hostile import pages
from tests.hostile.archive_checks import problems
from tests.hostile.crawl import ROOT, command
from tests.hostile.server import HostileServer

pytestmark = pytest.mark.e2e

POSTS = 40
KILLS = 20
SEED = int(os.environ.get("PALIMPSEST_TEST_SEED", "4"))


@pytest.fixture
def blog():
    """A blog of POSTS articles, each answered after a short delay so that crawls take a while."""
    with HostileServer() as server:
        links = [f"/posts/story-{i}/" for i in range(POSTS)]

        def article(ex):
            ex.wait(0.05)
            ex.html(pages.article(f"Story {ex.path}", pages.paragraphs(ex.path)))

        server.routes.update(
            {
                "/": lambda ex: ex.html(pages.home_with_feed("Crash Gazette")),
                "/robots.txt": lambda ex: ex.send(pages.robots(), content_type="text/plain"),
                "/feed.xml": lambda ex: ex.send(
                    pages.rss(server.base_url, links), content_type="application/rss+xml"
                ),
                "/posts/*": article,
            }
        )
        yield server


def start_crawl(server, db_path, **settings) -> subprocess.Popen[bytes]:
    # A session of its own, so that the kill takes the extraction workers with the crawler.
    return subprocess.Popen(
        command(
            [server.base_url + "/"], db_path, {"CONCURRENT_REQUESTS_PER_DOMAIN": "4", **settings}
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have finished
        os.killpg(process.pid, signal.SIGKILL)  # the group this test started, and nothing else
    process.wait(timeout=30)


def test_kill_9_twenty_times_then_every_post_archived_exactly_once(blog, tmp_path):
    db_path = tmp_path / "archive.db"
    rng = random.Random(SEED)
    killed_mid_archive = 0
    for attempt in range(KILLS):
        before = _count(db_path, "captures")
        process = start_crawl(blog, db_path)
        if rng.random() < 0.25:  # during start-up: imports, migrations, opening the crawl
            time.sleep(rng.uniform(0.1, 1.5))
        else:  # while it archives: once its first capture is committed, a little later
            deadline = time.monotonic() + 60
            while _count(db_path, "captures") == before and process.poll() is None:
                assert time.monotonic() < deadline, "the crawler never wrote anything"
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.8))
        finished = process.poll() is not None
        kill(process)
        killed_mid_archive += not finished and _count(db_path, "captures") > before
        found = problems(db_path)
        assert found == [], f"after kill {attempt + 1} (seed {SEED}): {found}"
    assert killed_mid_archive >= KILLS // 2  # most kills landed while the crawler was writing

    process = start_crawl(blog, db_path)
    assert process.wait(timeout=120) == 0
    assert problems(db_path) == []
    db = sqlite_utils.Database(db_path)
    urls = {row["url"] for row in db["pages"].rows}
    assert urls == {blog.url(f"/posts/story-{i}/") for i in range(POSTS)}
    assert db["versions"].count == POSTS  # each post archived exactly once
    assert all(row["version_count"] == 1 for row in db["pages"].rows)


def _count(db_path, table: str) -> int:
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
    except sqlite3.OperationalError:  # no schema yet
        return 0
    finally:
        conn.close()


@pytest.mark.asyncio
async def test_datasette_reads_the_live_archive_while_the_crawler_writes(blog, tmp_path):
    db_path = tmp_path / "archive.db"
    open_db(
        db_path
    ).close()  # Datasette serves the file from the start, as `palimpsest serve` would
    ds = make_datasette(db_path)
    paths = [
        "/archive/versions.json?_shape=array&_size=5",
        "/archive/captures.json?_shape=array&_sort_desc=id&_size=5",
        "/archive.json?sql=select+count(*)+as+n+from+versions&_shape=array",
        "/archive/pages.json?_shape=array&_size=5",
    ]
    process = start_crawl(blog, db_path)
    answers = []
    try:
        while process.poll() is None:
            for path in paths:
                response = await ds.client.get(path)
                answers.append((path, response.status_code, response.text))
            await asyncio.sleep(0.01)
    finally:
        kill(process)
    assert process.returncode == 0
    # WAL is what lets readers never wait for the writer (in rollback-journal mode they would
    # wait for each commit, up to their busy timeout, then fail with "database is locked").
    journal = await ds.databases["archive"].execute("pragma journal_mode")
    assert journal.first()[0] == "wal"
    assert len(answers) > 100
    bad = [(path, status, text[:200]) for path, status, text in answers if status != 200]
    assert bad == []
    assert not [a for a in answers if "locked" in a[2]]
    final = await ds.client.get(paths[2])
    assert final.json() == [{"n": POSTS}]


def readme_backup_commands() -> list[str]:
    """The shell commands of the README's "Back up the archive" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Back up the archive", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_backup_commands_from_the_readme_are_safe_during_a_crawl(blog, tmp_path):
    commands = readme_backup_commands()
    python = (
        "import sqlite3; sqlite3.connect('archive.db').execute(\\\"VACUUM INTO 'backup.db'\\\")"
    )
    assert commands == ['sqlite3 archive.db ".backup backup.db"', f'python3 -c "{python}"']
    db_path = tmp_path / "archive.db"
    open_db(db_path).close()
    process = start_crawl(blog, db_path)
    backups = []
    try:
        while process.poll() is None and len(backups) < 40:
            shell = commands[len(backups) % len(commands)]
            done = subprocess.run(
                shell,
                shell=True,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, f"{shell}: {done.stderr}"
            backups.append((tmp_path / "backup.db").rename(tmp_path / f"backup-{len(backups)}.db"))
            time.sleep(0.05)
    finally:
        assert process.wait(timeout=120) == 0
    assert len(backups) >= 4
    counts = []
    for backup in backups:
        assert problems(backup) == [], backup.name
        counts.append(_count(backup, "versions"))
    assert counts == sorted(counts)  # each one a consistent snapshot, in order
    assert counts[0] < POSTS  # taken while the crawl was writing
