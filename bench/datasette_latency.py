"""The Datasette benchmark: diff page and full-text search latency on the big archive.

A real ``datasette serve`` (``archive.serve.datasette_command``) answers sequential requests;
the median of ``requests`` timed requests per URL is reported, after two warm-up requests. To say
where the time goes, the diff's SQL and its computation (``archive.diff.diff_html``) are also timed
in this process, and the query plans of the search and diff queries are recorded.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import statistics
import subprocess
import time
from typing import TYPE_CHECKING, Any
from urllib.error import URLError
from urllib.parse import quote
from urllib.request import urlopen

from archive.diff import diff_html
from archive.serve import database_name, datasette_command, load_metadata
from bench.bigarchive import big_archive

if TYPE_CHECKING:
    from pathlib import Path

    from bench.bigarchive import BigArchive

logger = logging.getLogger(__name__)

TARGET_MS = 200
# The queries archive/datasette_plugin.diff_data runs for one diff page (besides the page row).
DIFF_SQL = (
    "select max(version) as n from versions where page_id = ?",
    "select * from versions where page_id = ? and version in (?, ?)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, float, int]:
    start = time.perf_counter()
    with urlopen(url, timeout=60) as response:
        body = response.read()
        status = response.status
    return status, 1000 * (time.perf_counter() - start), len(body)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"datasette exited with {process.returncode}")
        try:
            _get(url)
            return
        except (URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError("datasette did not start")


def _search_terms(path: Path) -> dict[str, str]:
    """A rare, a typical and the most common indexed word (by the number of versions holding it)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("create virtual table temp.vocab using fts5vocab(main, versions_fts, row)")
        rows = conn.execute(
            "select term, doc from temp.vocab where length(term) >= 3 and term not glob '*[^a-z]*'"
        ).fetchall()
        total = conn.execute("select count(*) from versions").fetchone()[0]
    finally:
        conn.close()

    def near(share: float) -> str:
        return str(min(rows, key=lambda row: abs(row[1] - share * total))[0])

    return {
        "rare (in ~0.1% of versions)": near(0.001),
        "typical (in ~5%)": near(0.05),
        "most common (in the most versions)": str(max(rows, key=lambda row: row[1])[0]),
    }


def _plans(archive: BigArchive) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN of the search canned query and of the diff page's queries."""
    name = database_name(archive.path)
    search_sql = load_metadata(archive.path)["databases"][name]["queries"]["search"]["sql"]
    conn = sqlite3.connect(archive.path)
    try:
        queries = {"search": (search_sql, {"q": "word"})}
        queries.update(
            {sql: (sql, (archive.long_page, 1, 2)[: sql.count("?")]) for sql in DIFF_SQL}
        )
        return {
            label: [row[3] for row in conn.execute(f"explain query plan {sql}", params)]
            for label, (sql, params) in queries.items()
        }
    finally:
        conn.close()


def _diff_parts(archive: BigArchive, a: int, b: int, repeat: int) -> dict[str, float]:
    """Median ms of the diff page's SQL and of ``diff_html`` on the two texts, in this process."""
    conn = sqlite3.connect(archive.path)
    conn.row_factory = sqlite3.Row
    sql_ms, diff_ms = [], []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            conn.execute(DIFF_SQL[0], (archive.long_page,)).fetchall()
            rows = conn.execute(DIFF_SQL[1], (archive.long_page, a, b)).fetchall()
            sql_ms.append(1000 * (time.perf_counter() - start))
            texts = {row["version"]: row["text"] for row in rows}
            start = time.perf_counter()
            diff_html(texts[a], texts[b])
            diff_ms.append(1000 * (time.perf_counter() - start))
    finally:
        conn.close()
    return {"sql_ms": statistics.median(sql_ms), "diff_html_ms": statistics.median(diff_ms)}


def _time_urls(base: str, urls: dict[str, str], requests: int) -> dict[str, dict[str, Any]]:
    results = {}
    for label, path in urls.items():
        for _ in range(2):
            _get(base + path)
        timings, size, status = [], 0, 0
        for _ in range(requests):
            status, ms, size = _get(base + path)
            timings.append(ms)
        timings.sort()
        results[label] = {
            "path": path,
            "status": status,
            "bytes": size,
            "median_ms": statistics.median(timings),
            "p90_ms": timings[int(0.9 * (len(timings) - 1))],
            "target_ms": TARGET_MS,
        }
        logger.info("%s: median %.0f ms (%s)", label, results[label]["median_ms"], path)
    return results


def run_datasette(work: Path, versions: int, requests: int) -> dict[str, Any]:
    """Build (or reuse) the big archive, serve it, time the diff and search pages."""
    archive = big_archive(work.resolve() / "datasette", versions)
    name = database_name(archive.path)
    last = archive.long_versions
    urls = {
        f"diff of the {archive.long_words:,}-word article, versions {last - 1}→{last}": (
            f"/-/diff/{archive.long_page}/{last - 1}/{last}"
        ),
        f"diff of the {archive.long_words:,}-word article, versions 1→{last}": (
            f"/-/diff/{archive.long_page}/1/{last}"
        ),
    }
    for label, term in _search_terms(archive.path).items():
        urls[f"search, {label} word {term!r}"] = f"/{name}/search?q={quote(term)}"
    port = _free_port()
    process = subprocess.Popen(
        datasette_command(archive.path, port=port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/-/versions.json", process)
        timings = _time_urls(base, urls, requests)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "archive": {
            "versions": archive.versions,
            "pages": archive.pages,
            "long_words": archive.long_words,
            "bytes": archive.path.stat().st_size,
        },
        "requests": requests,
        "urls": timings,
        "diff_parts": _diff_parts(archive, 1, last, 5),
        "plans": _plans(archive),
    }
