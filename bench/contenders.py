"""The contenders (a)–(g): how each is started, measured and read back.

Every contender is a subprocess measured the same way (``bench.measure``): wall time of the
whole command (start-up included), CPU of its process tree, peak RSS of its process tree. The
blog server runs in a process of its own and is not counted; its CPU during the run is recorded
separately to show it is not the bottleneck.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.blog import post_path
from bench.measure import run_measured
from bench.outputs import (
    copy_sqlite,
    score,
    sqlite_bytes,
    texts_from_archive,
    texts_from_jsonl,
    texts_from_tutorial,
)

if TYPE_CHECKING:
    from bench.corpus import Template
    from bench.server import ServerProcess

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = Path(__file__).resolve().parent / "tutorial"
NAMES = {
    "a": "extraction limit (trafilatura on all cores, no crawl)",
    "x": "Palimpsest's extraction alone (its options, all cores, no crawl)",
    "b": "tutorial pipeline (Scrapy, inline trafilatura, row-by-row sqlite-utils)",
    "c": "trafilatura CLI fetching the URLs",
    "d": "Palimpsest first crawl",
    "e": "Palimpsest recrawl, nothing changed, ETag/Last-Modified",
    "s": "Scrapy alone asking (e)'s conditional requests, nothing done with the answers",
    "f": "Palimpsest recrawl, nothing changed, no validators",
    "g": "Palimpsest recrawl, 10% of posts edited",
}
# Stats worth keeping from a Palimpsest crawl: what happened to each page.
_STAT_PREFIXES = ("archive/", "extract/", "downloader/response_status_count/")


@dataclass(frozen=True)
class Context:
    """What every contender of one bench run shares."""

    server: ServerProcess
    n: int
    concurrency: int
    work: Path
    templates: list[Template]
    crawl_settings: tuple[str, ...] = ()
    """Extra ``NAME=VALUE`` Scrapy settings for Palimpsest's crawls (experiments)."""


@dataclass
class Run:
    """One measured run of one contender."""

    contender: str
    round: int
    pages: int
    wall_s: float
    cpu_s: float
    peak_rss: int
    server_cpu_s: float
    archive_bytes: int | None
    f1: float | None
    returncode: int
    peak_processes: list[tuple[str, int]] = field(default_factory=list)
    peak_pss: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


def _measure(ctx: Context, name: str, round_: int, command: list[str], **kwargs: Any) -> Run:
    server_before = ctx.server.cpu_seconds()
    m = run_measured(command, log=ctx.work / f"{name}.log", **kwargs)
    server_cpu = ctx.server.cpu_seconds() - server_before
    return Run(
        contender=name,
        round=round_,
        pages=0,  # the caller counts what the contender produced
        wall_s=m.wall_s,
        cpu_s=m.cpu_s,
        peak_rss=m.peak_rss,
        server_cpu_s=server_cpu,
        archive_bytes=None,
        f1=None,
        returncode=m.returncode,
        peak_processes=m.peak_processes,
        peak_pss=m.peak_pss,
    )


def extraction_limit(ctx: Context, round_: int, name: str = "a") -> Run:
    """(a) ``bench.extract_limit``: trafilatura over posts 0…n-1, one worker per core; (x) the
    same with Palimpsest's ``extract_article``.

    (x) gets the crawl settings too, so that ``EXTRACT_*`` experiments change it as they do (d).
    """
    out = ctx.work / f"{name}.jsonl"
    command = [sys.executable, "-m", "bench.extract_limit", "--n", str(ctx.n), "--out", str(out)]
    command += ["--extractor", "trafilatura" if name == "a" else "palimpsest"]
    command += [arg for setting in ctx.crawl_settings for arg in ("-s", setting)]
    run = _measure(ctx, name, round_, command, cwd=REPO)
    texts = texts_from_jsonl(out, key="post")
    run.pages, run.f1 = len(texts), score(texts, ctx.templates, ctx.n)
    return run


def tutorial(ctx: Context, round_: int) -> Run:
    """(b) The Scrapy project in bench/tutorial, politeness off as for Palimpsest."""
    db = ctx.work / "b.db"
    db.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scrapy", "crawl", "posts"]
    command += ["-a", f"site={ctx.server.base_url}"]
    command += _scrapy_settings(ctx.concurrency, TUTORIAL_DB=str(db), LOG_LEVEL="INFO")
    ctx.server.set_mode(validators=True, edited=False)
    run = _measure(ctx, "b", round_, command, cwd=TUTORIAL)
    texts = texts_from_tutorial(db)
    run.pages, run.f1 = len(texts), score(texts, ctx.templates, ctx.n)
    run.archive_bytes = sqlite_bytes(db)
    return run


def trafilatura_cli(ctx: Context, round_: int) -> Run:
    """(c) ``trafilatura -i urls.txt``: JSON with metadata on stdout, comments off as ours are."""
    urls, config, out = ctx.work / "urls.txt", ctx.work / "trafilatura.cfg", ctx.work / "c.jsonl"
    urls.write_text("".join(f"{ctx.server.base_url}{post_path(i)}\n" for i in range(ctx.n)))
    _write_trafilatura_config(config)
    out.unlink(missing_ok=True)
    command = [str(Path(sys.executable).with_name("trafilatura")), "-i", str(urls)]
    command += ["--parallel", str(ctx.concurrency), "--config-file", str(config)]
    command += ["--no-comments", "--json", "--with-metadata"]
    ctx.server.set_mode(validators=True, edited=False)
    run = _measure(ctx, "c", round_, command, cwd=ctx.work, stdout=out)
    texts = texts_from_jsonl(out, key="source")
    run.pages, run.f1 = len(texts), score(texts, ctx.templates, ctx.n)
    run.archive_bytes = out.stat().st_size
    return run


def _write_trafilatura_config(path: Path) -> None:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "SLEEP_TIME", "0")  # its per-host politeness delay, off as ours is
    config.set("DEFAULT", "SSRF_PROTECTION", "off")  # the blog is on 127.0.0.1
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # as archive.extract sets it
    with path.open("w") as fp:
        config.write(fp)


def first_crawl(ctx: Context, round_: int) -> Run:
    """(d) ``python -m scraper.run`` into a new archive, the server sending validators."""
    db = ctx.work / "d.db"
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    ctx.server.set_mode(validators=True, edited=False)
    run = _palimpsest(ctx, "d", round_, db)
    run.archive_bytes = sqlite_bytes(db)
    return run


def recrawl(ctx: Context, round_: int, name: str) -> Run:
    """(e), (f), (g): a crawl of a copy of (d)'s archive, in the server mode the name says."""
    db = ctx.work / f"{name}.db"
    copy_sqlite(ctx.work / "d.db", db)
    before = sqlite_bytes(db)
    ctx.server.set_mode(validators=name != "f", edited=name == "g")
    try:
        run = _palimpsest(ctx, name, round_, db)
    finally:
        ctx.server.set_mode(validators=True, edited=False)
    run.archive_bytes = sqlite_bytes(db) - before
    return run


def scrapy_floor(ctx: Context, round_: int) -> Run:
    """(s) The tutorial project's ``revalidate`` spider on a copy of (d)'s archive: one
    conditional GET per archived page, empty callback. What (e) would cost without Palimpsest."""
    db, stats_file = ctx.work / "s.db", ctx.work / "s.stats.json"
    copy_sqlite(ctx.work / "d.db", db)
    stats_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scrapy", "crawl", "revalidate"]
    command += ["-a", f"archive={db}", "-a", f"stats={stats_file}"]
    command += _scrapy_settings(ctx.concurrency, LOG_LEVEL="INFO")
    ctx.server.set_mode(validators=True, edited=False)
    run = _measure(ctx, "s", round_, command, cwd=TUTORIAL)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    run.pages = int(stats.get("downloader/response_status_count/304", 0))
    run.detail = stats
    return run


def _palimpsest(ctx: Context, name: str, round_: int, db: Path) -> Run:
    stats_file = ctx.work / f"{name}.stats.json"
    stats_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scraper.run", f"{ctx.server.base_url}/", "--db", str(db)]
    command += ["--stats-json", str(stats_file), "--log-file", str(ctx.work / f"{name}.crawl.log")]
    command += _scrapy_settings(ctx.concurrency)
    command += [arg for setting in ctx.crawl_settings for arg in ("-s", setting)]
    run = _measure(ctx, name, round_, command, cwd=REPO)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    texts = texts_from_archive(db)
    run.pages = int(stats.get("archive/fetches", 0))
    run.f1 = score(texts, ctx.templates, ctx.n)
    run.detail = {k: v for k, v in stats.items() if k.startswith(_STAT_PREFIXES)}
    run.detail["elapsed_time_seconds"] = stats.get("elapsed_time_seconds")
    return run


def _scrapy_settings(concurrency: int, **extra: str) -> list[str]:
    settings = {
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        **extra,
    }
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
