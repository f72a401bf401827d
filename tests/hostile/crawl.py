"""Run a crawl of a hostile site in a subprocess, measuring the crawler's peak memory.

Like ``tests.conftest.run_crawl``, plus: short network timeouts, the peak RSS of the crawl process
(``CrawlResult.stats["test/peak_rss_mb"]``), and ``PALIMPSEST_TEST_SETTINGS``, a JSON object of
extra ``-s`` settings applied to every hostile crawl. Use it to watch a test fail without the
handling it checks, e.g. ``PALIMPSEST_TEST_SETTINGS='{"BODY_GUARD_ENABLED": "False"}'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import LOCAL_CRAWL_SETTINGS, CrawlResult

ROOT = Path(__file__).resolve().parents[2]
# Short enough for a quick suite, long enough for a loaded 2-core CI machine.
HOSTILE_SETTINGS = {
    **LOCAL_CRAWL_SETTINGS,
    "DOWNLOAD_TIMEOUT": "3",
    "EXTRACT_WORKERS": "1",
    "LOG_LEVEL": "INFO",
}


def command(
    urls: list[str], db_path: Path, settings: dict[str, str] | None = None, *args: str
) -> list[str]:
    """The command line of a measured crawl (``python -m tests.hostile.measured …``)."""
    stats_file = db_path.with_suffix(".stats.json")
    log_file = db_path.with_suffix(".log")
    cmd = [sys.executable, "-m", "tests.hostile.measured", *urls, "--db", str(db_path)]
    cmd += ["--stats-json", str(stats_file), "--log-file", str(log_file), *args]
    extra = json.loads(os.environ.get("PALIMPSEST_TEST_SETTINGS") or "{}")
    for name, value in {**HOSTILE_SETTINGS, **(settings or {}), **extra}.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd


def hostile_crawl(
    urls: list[str] | str,
    db_path: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    timeout: float = 120,
) -> CrawlResult:
    """Crawl ``urls`` into ``db_path`` in a subprocess and return what happened."""
    urls = [urls] if isinstance(urls, str) else urls
    stats_file = db_path.with_suffix(".stats.json")
    stats_file.unlink(missing_ok=True)
    done = subprocess.run(
        command(urls, db_path, settings, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    log_file = db_path.with_suffix(".log")
    log = log_file.read_text() if log_file.exists() else ""
    rss_file = db_path.with_suffix(".rss")
    if rss_file.exists():
        stats["test/peak_rss_mb"] = int(rss_file.read_text()) / 1024
    return CrawlResult(done.returncode, stats, done.stdout, done.stderr, log)
