"""Shared fixtures: an in-memory archive, the sample blog over HTTP, and a crawl runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from archive.db import memory_db
from archive.demo import load_posts, serve_blog

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlite_utils import Database

    from archive.demo import SiteServer

# Tests only talk to 127.0.0.1: make sure no proxy from the environment gets in the way.
for _name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

# The test servers are ours and local: politeness delays would only slow the suite down.
LOCAL_CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "EXTRACT_WORKERS": "2",
}


@pytest.fixture
def db() -> Database:
    """A fresh in-memory archive with the schema applied."""
    return memory_db()


@pytest.fixture
def blog() -> Iterator[SiteServer]:
    """The sample blog, served on a free 127.0.0.1 port; ``publish_posts`` swaps in edits."""
    with serve_blog(load_posts()) as server:
        yield server


@dataclass
class CrawlResult:
    """What a crawl subprocess did."""

    exit_code: int
    stats: dict[str, Any]
    stdout: str
    stderr: str
    log: str


def run_crawl(
    urls: list[str] | str,
    db_path: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlResult:
    """Run ``python -m scraper.run`` in a subprocess (Scrapy's reactor stays out of pytest)."""
    urls = [urls] if isinstance(urls, str) else urls
    stats_file = db_path.with_suffix(".stats.json")
    log_file = db_path.with_suffix(".log")
    stats_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scraper.run", *urls, "--db", str(db_path)]
    command += ["--stats-json", str(stats_file), "--log-file", str(log_file), *args]
    for name, value in {**LOCAL_CRAWL_SETTINGS, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    log = log_file.read_text() if log_file.exists() else ""
    return CrawlResult(done.returncode, stats, done.stdout, done.stderr, log)


@pytest.fixture
def crawl() -> Any:
    """The crawl runner: ``crawl(url, db_path, *extra_args, settings={...})``."""
    return run_crawl


def project_crawler(settings: dict[str, Any] | None = None) -> Any:
    """``get_crawler`` for the blog spider with the project's settings plus ``settings``."""
    from scrapy.utils.test import get_crawler

    from scraper import settings as project
    from scraper.spiders.blog import BlogSpider

    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    return get_crawler(BlogSpider, {**values, **(settings or {})})
