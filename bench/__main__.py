"""``python -m bench {all,speed,memory,datasette,report}``: run benchmarks, write bench/RESULTS.md.

Each benchmark writes ``bench/results/<name>.json`` (with the machine it ran on); the report is
rendered from whichever results exist, so ``make bench`` and ``make bench-memory`` each update
their part of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bench.machine import machine_info

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
logger = logging.getLogger("bench")


def _save(args: argparse.Namespace, name: str, data: dict[str, Any]) -> None:
    args.results.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine_info(), **data}
    path = args.results / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s", path)


def _speed(args: argparse.Namespace) -> None:
    from bench.speed import run_speed

    work = args.work / "speed"
    _save(args, "speed", run_speed(args.n, args.runs, args.concurrency, work, tuple(args.setting)))


def _memory(args: argparse.Namespace) -> None:
    from bench.memory import run_memory

    sizes = args.sizes or [2000, 20000]
    work = args.work / "memory"
    _save(args, "memory", run_memory(sizes, args.concurrency, work, tuple(args.setting)))


def _datasette(args: argparse.Namespace) -> None:
    from bench.datasette_latency import run_datasette

    _save(args, "datasette", run_datasette(args.work, args.versions, args.requests))


def _report(args: argparse.Namespace) -> None:
    from bench.report import write_report

    out = BENCH / "RESULTS.md" if args.results == RESULTS else args.results / "RESULTS.md"
    path = write_report(args.results, out)
    logger.info("wrote %s", path)


def _all(args: argparse.Namespace) -> None:
    _speed(args)
    _datasette(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", choices=["all", "speed", "memory", "datasette", "report"])
    parser.add_argument("--n", type=int, default=1000, help="posts on the blog (speed)")
    parser.add_argument("--runs", type=int, default=3, help="rounds of contenders (speed)")
    parser.add_argument(
        "--size", dest="sizes", type=int, action="append", help="N for the memory bench (repeat)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument(
        "-s",
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra Scrapy setting for Palimpsest's crawls (repeat; for experiments)",
    )
    parser.add_argument("--versions", type=int, default=100_000, help="big archive (datasette)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="where the JSON results go (default bench/results, rendered to bench/RESULTS.md;"
        " elsewhere, RESULTS.md is written next to them)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("BENCH_WORK", BENCH / "work")),
        help="scratch directory (default bench/work or $BENCH_WORK)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # Everything here talks to 127.0.0.1 only: keep proxies from the environment out of the way.
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    {"all": _all, "speed": _speed, "memory": _memory, "datasette": _datasette}.get(
        args.command, lambda a: None
    )(args)
    _report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
