"""The speed benchmark: serve N posts, measure the server alone, then the contenders in rounds.

Each round runs every contender once; the order rotates from round to round so that a change in
the machine's load does not always land on the same contender. (e), (f) and (g) recrawl copies of
the archive (d) made in the same round. Medians over the rounds are what the report shows.
"""

from __future__ import annotations

import logging
import os
import statistics
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bench import contenders
from bench.contenders import Context, Run
from bench.corpus import load_templates
from bench.loadtest import load_test
from bench.server import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

GROUPS = (("a", "x"), ("b",), ("c",), ("d", "e", "s", "f", "g"))


def _run_one(ctx: Context, name: str, round_: int) -> Run:
    runners = {
        "a": contenders.extraction_limit,
        "b": contenders.tutorial,
        "c": contenders.trafilatura_cli,
        "d": contenders.first_crawl,
        "s": contenders.scrapy_floor,
    }
    if name in runners:
        return runners[name](ctx, round_)
    if name == "x":
        return contenders.extraction_limit(ctx, round_, "x")
    return contenders.recrawl(ctx, round_, name)


def _log(run: Run) -> None:
    figures = per_page(run)
    logger.info(
        "round %s, (%s): %s pages, %.1f pages/s, %.0f CPU ms/page, %.0f MB peak, exit %s",
        run.round + 1,
        run.contender,
        run.pages,
        figures["pages_per_s"],
        figures["cpu_ms_per_page"],
        figures["peak_rss_mb"],
        run.returncode,
    )


def per_page(run: Run) -> dict[str, float | None]:
    """The per-page figures of one run."""
    pages = run.pages or 1
    elapsed = run.detail.get("elapsed_time_seconds")  # Scrapy's own clock: no start-up
    return {
        "pages_per_s": run.pages / run.wall_s,
        "crawl_pages_per_s": run.pages / elapsed if elapsed else None,
        "cpu_ms_per_page": 1000 * run.cpu_s / pages,
        "peak_rss_mb": run.peak_rss / 2**20,
        "peak_pss_mb": run.peak_pss / 2**20,
        "archive_bytes_per_page": None if run.archive_bytes is None else run.archive_bytes / pages,
        "f1": run.f1,
        "server_cpu_ms_per_page": 1000 * run.server_cpu_s / pages,
    }


def summarise(runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Median of every per-page figure, per contender."""
    summary: dict[str, dict[str, Any]] = {}
    for name in contenders.NAMES:
        figures = [per_page(run) for run in runs if run.contender == name]
        if not figures:
            continue
        medians: dict[str, Any] = {"runs": len(figures)}
        for key in figures[0]:
            values = [f[key] for f in figures if f[key] is not None]
            medians[key] = statistics.median(values) if values else None
        medians["pages"] = statistics.median(run.pages for run in runs if run.contender == name)
        summary[name] = medians
    return summary


def run_speed(
    n: int, rounds: int, concurrency: int, work: Path, crawl_settings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run the whole speed benchmark and return its results (for ``results/speed.json``)."""
    work = work.resolve()  # the contenders run in other directories
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with ServerProcess(n) as server:
        server.set_mode(validators=True, edited=False)
        server_alone = [asdict(r) for r in load_test(server.port, n)]
        for result in server_alone:
            logger.info("server alone: %(kind)s, %(requests)s in %(seconds).2fs", result)
        ctx = Context(server, n, concurrency, work, load_templates(), crawl_settings)
        runs: list[Run] = []
        for round_ in range(rounds):
            shift = round_ % len(GROUPS)
            for group in GROUPS[shift:] + GROUPS[:shift]:
                for name in group:
                    runs.append(_run_one(ctx, name, round_))
                    _log(runs[-1])
    for result in server_alone:
        result["per_second"] = result["requests"] / result["seconds"]
        result["mb_per_second"] = result["body_bytes"] / result["seconds"] / 1e6
    return {
        "n": n,
        "rounds": rounds,
        "concurrency": concurrency,
        "crawl_settings": list(crawl_settings),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "server_alone": server_alone,
        "summary": summarise(runs),
        "runs": [asdict(run) for run in runs],
    }
