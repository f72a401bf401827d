"""Run one crawl in this process and turn its outcome into an exit code.

``palimpsest crawl`` starts ``python -m scraper.run`` as a subprocess, so Scrapy's reactor never
shares a process with the CLI, Datasette or a test runner.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.log import configure_logging

from archive.db import ArchiveError, open_db
from archive.lock import CrawlLock, LockHeld
from archive.urls import is_http_url
from scraper.progress import progress_line
from scraper.spiders.blog import BlogSpider

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ALL_FAILED = 1  # the crawl ran but no page could be fetched
EXIT_USAGE = 2
EXIT_NOT_STARTED = 3  # bad arguments, unusable archive, or the spider could not start
EXIT_LOCKED = 4  # another crawl of the same archive is running; nothing was done


def build_settings(
    db_path: str, overrides: dict[str, str], log_file: str | None, verbose: bool
) -> Settings:
    """Project settings, then the archive path, logging choices and ``-s`` overrides on top."""
    settings = Settings()
    settings.setmodule("scraper.settings", priority="project")
    settings.set("ARCHIVE_DB_PATH", db_path, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
        settings.set("LOG_FILE_APPEND", True, priority="cmdline")
    elif not verbose:
        settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def exit_code(stats: dict[str, Any], failures: list[Any]) -> int:
    """0 when something was fetched, 1 when every fetch failed, 3 when the crawl never started.

    >>> ok = {"downloader/response_status_count/304": 3, "downloader/response_status_count/503": 1}
    >>> exit_code(ok, []), exit_code({"downloader/response_status_count/503": 4}, [])
    (0, 1)
    """
    if failures or not stats or stats.get("archive/unusable"):
        return EXIT_NOT_STARTED
    if stats.get("due/sites") == 0 and stats.get("due/pages") == 0:
        return EXIT_OK  # nothing was due: nothing to fetch is not a failure
    # Any real answer counts (a 304 says "unchanged", a 404 "gone"); 5xx, 429 and no answer at
    # all are failures; robots.txt answering says nothing about the pages.
    fetched_ok = _answered(stats, "downloader/response_status_count/") - _answered(
        stats, "robotstxt/response_status_count/"
    )
    return EXIT_OK if fetched_ok > 0 else EXIT_ALL_FAILED


def _answered(stats: dict[str, Any], prefix: str) -> int:
    total = 0
    for key, count in stats.items():
        status = key.removeprefix(prefix)
        if key.startswith(prefix) and status.isdigit() and int(status) < 500 and status != "429":
            total += count
    return total


def summary(stats: dict[str, Any], db_path: str) -> str:
    """The line printed when a crawl ends."""
    elapsed = stats.get("elapsed_time_seconds") or 0
    return f"Crawl finished in {elapsed:.1f}s: {progress_line(stats)} → {db_path}"


def run_crawl(
    urls: list[str],
    db_path: str,
    *,
    due: bool = False,
    max_pages: int = 0,
    overrides: dict[str, str] | None = None,
    log_file: str | None = None,
    verbose: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Crawl ``urls`` (and, with ``due``, what the archive says is due) into the archive at
    ``db_path``; return (exit code, stats). One crawl at a time per archive."""
    bad = [url for url in urls if not is_http_url(url)]
    if (not urls and not due) or bad:
        print(f"error: not an http(s) URL: {', '.join(bad) or '(none given)'}", file=sys.stderr)
        return EXIT_NOT_STARTED, {}
    settings = build_settings(db_path, overrides or {}, log_file, verbose)
    try:
        with CrawlLock(db_path):
            try:  # under the lock: only one process ever migrates or writes the archive
                open_db(db_path).close()  # fail early, with a clear message, if it is unusable
            except ArchiveError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_NOT_STARTED, {}
            stats, failures = _crawl(settings, urls, due=due, max_pages=max_pages)
    except LockHeld as exc:
        logger.warning("Not crawling: %s", exc)
        if sys.stderr.isatty():
            print(f"Not crawling: {exc}", file=sys.stderr)
        return EXIT_LOCKED, {}
    for failure in failures:
        print(f"error: crawl could not start: {failure.getErrorMessage()}", file=sys.stderr)
    code = exit_code(stats, failures)
    logger.info("%s (exit %s)", summary(stats, db_path), code)
    return code, stats


def _crawl(
    settings: Settings, urls: list[str], *, due: bool, max_pages: int
) -> tuple[dict[str, Any], list[Any]]:
    configure_logging(settings)
    process = CrawlerProcess(settings, install_root_handler=False)
    crawler = process.create_crawler(BlogSpider)
    failures: list[Any] = []
    deferred = process.crawl(crawler, url=",".join(urls), max_pages=max_pages, due=due)
    deferred.addErrback(failures.append)
    process.start()
    try:
        stats = dict(crawler.stats.get_stats())
    except RuntimeError:  # the crawl never started (its spider could not be created)
        stats = {}
    return stats, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scraper.run", description=__doc__)
    parser.add_argument("urls", nargs="*")
    parser.add_argument(
        "--due", action="store_true", help="also check what the archive says is due"
    )
    parser.add_argument("--db", default="archive.db")
    parser.add_argument("--max-pages", type=int, default=0)
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--log-file")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--summary", action="store_true", help="print the summary even off a terminal"
    )
    parser.add_argument("--stats-json", help="write the crawl's stats to this file")
    args = parser.parse_args(argv)
    overrides = {}
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"-s expects NAME=VALUE, got {pair!r}")
        overrides[name] = value
    log_file = args.log_file
    if log_file is None and not sys.stderr.isatty():
        # Under cron: nothing on the terminal (cron would mail it), everything in a log file.
        log_file = str(Path(args.db).with_suffix(".log"))
    code, stats = run_crawl(
        args.urls,
        args.db,
        due=args.due,
        max_pages=args.max_pages,
        overrides=overrides,
        log_file=log_file,
        verbose=args.verbose,
    )
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(stats, default=str, indent=2))
    if stats and (args.summary or sys.stdout.isatty()):
        print(summary(stats, args.db))
    return code


if __name__ == "__main__":
    sys.exit(main())
