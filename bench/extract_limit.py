"""Contenders (a) and (x): extraction of every post on all cores, nothing else.

No HTTP, no Scrapy, no storage: each worker renders its posts from the corpus templates and
extracts them, so the rate is what the CPU allows for extraction alone.

- ``--extractor trafilatura`` (a), the extraction limit: ``trafilatura.bare_extraction`` with
  the arguments the tutorial pipeline (b) and the CLI (c) use (metadata, no comments, tables, no
  deduplication), trafilatura's defaults otherwise.
- ``--extractor palimpsest`` (x): ``archive.extract.extract_article`` with the ``ExtractOptions``
  a crawl uses (the defaults, or the ``EXTRACT_*`` settings given with ``-s``): the share of (d)
  that is extraction.

Writes one JSON line per post: ``{"post": i, "text": ...}``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from functools import lru_cache
from typing import Any

import trafilatura
from trafilatura.settings import use_config

from archive.extract import ExtractOptions, extract_article
from bench.blog import Blog, post_path
from bench.corpus import load_templates

BASE_URL = "http://127.0.0.1:8000"
# The crawl's EXTRACT_* settings and the ExtractOptions field each one sets (scraper/workers.py).
OPTION_SETTINGS = {
    "EXTRACT_INCLUDE_COMMENTS": "include_comments",
    "EXTRACT_FAVOR_PRECISION": "favor_precision",
    "EXTRACT_FAVOR_RECALL": "favor_recall",
    "EXTRACT_FAST": "fast",
}
_blog: Blog | None = None
_options = ExtractOptions()
_extractor = "trafilatura"


def extract_options(settings: list[str]) -> ExtractOptions:
    """ExtractOptions from ``NAME=VALUE`` crawl settings; other settings are ignored.

    >>> extract_options(["EXTRACT_FAST=True", "DOWNLOAD_DELAY=0"]).fast
    True
    """
    fields = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name in OPTION_SETTINGS:
            fields[OPTION_SETTINGS[name]] = value.strip().lower() in ("1", "true", "yes", "on")
    return ExtractOptions(**fields)


def _init(n: int, options: ExtractOptions, extractor: str) -> None:
    global _blog, _options, _extractor
    _blog, _options, _extractor = Blog(load_templates(), n, BASE_URL), options, extractor


def _extract(post: int) -> tuple[int, str]:
    assert _blog is not None
    page = _blog.post_body(post).decode("utf-8")
    url = BASE_URL + post_path(post)
    if _extractor == "palimpsest":
        article = extract_article(page, url, _options)
        return post, article.text if article is not None else ""
    document = trafilatura.bare_extraction(
        page,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        config=_trafilatura_config(),
    )
    return post, (document.text or "") if document is not None else ""


@lru_cache(maxsize=1)
def _trafilatura_config() -> Any:
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # as the CLI (c) and Palimpsest run it
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract_limit", description=__doc__)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--extractor", choices=["trafilatura", "palimpsest"], default="trafilatura")
    parser.add_argument(
        "-s", "--setting", action="append", default=[], help="the crawl's EXTRACT_*=VALUE"
    )
    args = parser.parse_args(argv)
    workers = args.workers or os.cpu_count() or 1
    options = extract_options(args.setting)
    context = multiprocessing.get_context("spawn")  # as the crawler's pool does
    with (
        context.Pool(
            workers, initializer=_init, initargs=(args.n, options, args.extractor)
        ) as pool,
        open(args.out, "w", encoding="utf-8") as out,
    ):
        results = pool.imap_unordered(_extract, range(args.n), chunksize=4)
        out.writelines(
            json.dumps({"post": post, "text": text}, ensure_ascii=False) + "\n"
            for post, text in results
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
