"""The memory benchmark: Palimpsest's first crawl of blogs of growing size, peak RSS of each.

Peak RSS should stay flat as N grows: nothing in the crawler may hold every page, every URL's
state or the whole archive in memory.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from bench import contenders
from bench.contenders import Context
from bench.corpus import load_templates
from bench.server import ServerProcess
from bench.speed import per_page

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)


def run_memory(
    sizes: list[int], concurrency: int, work: Path, crawl_settings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One first crawl (d) per blog size; return the figures of each, keyed by N."""
    work = work.resolve()
    templates = load_templates()
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    for n in sizes:
        (work / f"n{n}").mkdir(parents=True, exist_ok=True)
        with ServerProcess(n) as server:
            ctx = Context(server, n, concurrency, work / f"n{n}", templates, crawl_settings)
            run = contenders.first_crawl(ctx, 0)
        figures = per_page(run)
        logger.info(
            "N=%s: %s pages, %.1f pages/s, peak RSS %.0f MB, exit %s",
            n,
            run.pages,
            figures["pages_per_s"],
            figures["peak_rss_mb"],
            run.returncode,
        )
        results[str(n)] = {
            **figures,
            "pages": run.pages,
            "wall_s": run.wall_s,
            "returncode": run.returncode,
            "peak_processes": run.peak_processes,
            "detail": run.detail,
        }
    return {
        "concurrency": concurrency,
        "crawl_settings": list(crawl_settings),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "sizes": results,
    }
