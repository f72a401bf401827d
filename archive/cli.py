"""The ``palimpsest`` command line: crawl, browse, and see how articles were edited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from archive import __version__
from archive.db import ArchiveError, open_db
from archive.diff import diff_unified
from archive.store import archive_stats, find_page, get_version, page_captures, page_versions
from archive.urls import normalize_url

DB_OPTION = click.option(
    "--db",
    "db_path",
    default="archive.db",
    show_default=True,
    envvar="PALIMPSEST_DB",
    type=click.Path(dir_okay=False),
    help="Archive database (SQLite). Also read from $PALIMPSEST_DB.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="palimpsest")
def cli() -> None:
    """Palimpsest: keep every revision of every article of the blogs you watch.

    Crawl a site into an SQLite archive, crawl it again later, and see what was silently edited.
    """


@cli.command()
@click.argument("urls", nargs=-1)
@DB_OPTION
@click.option(
    "--due",
    is_flag=True,
    help="Check what is due: discovery of watched sites whose time has come, revisits of due pages.",
)
@click.option(
    "--max-pages",
    type=int,
    default=0,
    help="Stop after archiving this many articles (0: no limit).",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any Scrapy setting, as with scrapy crawl -s.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Log here (default off a terminal: the DB's name with .log).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level on the terminal.")
def crawl(
    urls: tuple[str, ...],
    db_path: str,
    due: bool,
    max_pages: int,
    settings: tuple[str, ...],
    log_file: str | None,
    verbose: bool,
) -> None:
    """Crawl the sites at URLS (and with --due, what is due) and archive every article found.

    New articles become version 1; an article whose title, byline or text changed since the last
    crawl gets a new version; every fetch is recorded. Known pages are fetched conditionally
    (ETag, Last-Modified). Safe under cron: one crawl per archive at a time.

    Exit codes: 0 done, 1 every fetch failed, 2 bad usage, 3 the crawl could not start (bad URL,
    unusable archive), 4 another crawl of this archive is running (nothing done).
    """
    if not urls and not due:
        raise click.UsageError("give the URLs of sites to crawl, or --due")
    for pair in settings:
        if "=" not in pair:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="-s")
    command = crawl_command(
        list(urls),
        db_path,
        due=due,
        max_pages=max_pages,
        settings=list(settings),
        log_file=log_file,
        verbose=verbose,
    )
    sys.exit(subprocess.call(command))


def crawl_command(
    urls: list[str],
    db_path: str,
    *,
    due: bool = False,
    max_pages: int = 0,
    settings: list[str] | None = None,
    log_file: str | None = None,
    verbose: bool = False,
    summary: bool = False,
) -> list[str]:
    """The command line of a crawl subprocess (Scrapy's reactor stays out of this process)."""
    command = [sys.executable, "-m", "scraper.run", *urls, "--db", db_path]
    if due:
        command.append("--due")
    command += ["--max-pages", str(max_pages)]
    for pair in settings or []:
        command += ["-s", pair]
    if log_file:
        command += ["--log-file", log_file]
    if verbose:
        command.append("--verbose")
    if summary:
        command.append("--summary")
    return command


@cli.command()
@DB_OPTION
@click.option("--port", default=8001, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
def serve(db_path: str, port: int, host: str) -> None:
    """Browse, search and diff the archive in Datasette (read-only)."""
    from archive.serve import datasette_command

    _open(db_path).close()
    click.echo(f"Datasette on http://{host}:{port}/ — Ctrl-C to stop", err=True)
    command = datasette_command(db_path, port=port, host=host)
    # Become Datasette rather than wrap it: a signal to this process then stops the server.
    os.execv(command[0], command)


@cli.command()
@click.argument("url")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def history(url: str, db_path: str, as_json: bool) -> None:
    """List the versions and fetches of the article at URL."""
    db = _open(db_path)
    page = _page(db, url)
    versions = page_versions(db, page["id"])
    captures = page_captures(db, page["id"])
    if as_json:
        fields = (
            "version",
            "captured_at",
            "title",
            "author",
            "published_at",
            "modified_at",
            "word_count",
            "words_added",
            "words_removed",
            "changed_fields",
            "content_hash",
        )
        data = {
            "page": page,
            "versions": [{k: v[k] for k in fields} for v in versions],
            "captures": captures,
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{page['url']}\n{len(versions)} version(s), {len(captures)} fetch(es), status {page['status']}\n"
    )
    for v in versions:
        changed = ", ".join(json.loads(v["changed_fields"] or "[]")) or "first version"
        click.echo(
            f"  v{v['version']:<3} {v['captured_at']}  +{v['words_added']}/-{v['words_removed']} words  {changed}"
        )
        click.echo(f"       {v['title']}")
    if len(versions) > 1:
        click.echo(f"\nSee the last edit: palimpsest diff {page['url']} --db {db_path}")


@cli.command()
@click.argument("url")
@DB_OPTION
@click.option(
    "--from", "from_version", type=int, help="Older version (default: the one before --to)."
)
@click.option("--to", "to_version", type=int, help="Newer version (default: the latest).")
@click.option("--color/--no-color", default=None, help="Colour the words (default: on a terminal).")
@click.option(
    "--context", default=1, show_default=True, help="Unchanged paragraphs shown around each change."
)
def diff(
    url: str,
    db_path: str,
    from_version: int | None,
    to_version: int | None,
    color: bool | None,
    context: int,
) -> None:
    """Show what changed in the article at URL between two versions, word by word."""
    db = _open(db_path)
    page = _page(db, url)
    to_version = to_version or page["version_count"]
    from_version = from_version or max(to_version - 1, 1)
    old, new = get_version(db, page["id"], from_version), get_version(db, page["id"], to_version)
    if old is None or new is None:
        raise click.ClickException(f"{page['url']} has versions 1..{page['version_count']}")
    color = sys.stdout.isatty() if color is None else color
    click.echo(diff_report(old, new, page["url"], color=color, context=context), color=color)


def diff_report(
    old: dict[str, Any], new: dict[str, Any], url: str, *, color: bool = False, context: int = 1
) -> str:
    """The text ``palimpsest diff`` prints: changed fields, then the word diff of the text."""
    lines = [
        f"{url}: version {old['version']} ({old['captured_at']}) → version {new['version']} ({new['captured_at']})"
    ]
    for field in ("title", "author", "published_at", "modified_at"):
        if (old[field] or "") != (new[field] or ""):
            lines.append(f"{field}: {old[field]!r} → {new[field]!r}")
    result = diff_unified(
        old["text"] or "",
        new["text"] or "",
        from_label=f"version {old['version']}",
        to_label=f"version {new['version']}",
        context=context,
        color=color,
    )
    lines.append(f"text: +{result['words_added']} / -{result['words_removed']} words")
    if result["diff"]:
        lines.append(result["diff"].rstrip("\n"))
    return "\n".join(lines)


@cli.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def stats(db_path: str, as_json: bool) -> None:
    """Summarise the archive: sites, articles, versions, fetches."""
    numbers = archive_stats(_open(db_path))
    if as_json:
        click.echo(json.dumps(numbers, indent=2))
        return
    for key, value in numbers.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-"
        click.echo(f"{key.replace('_', ' '):<24} {value}")


@cli.command()
@click.option(
    "--db",
    "db_path",
    default="demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Archive to create (replaced if it exists).",
)
@click.option("--port", default=8001, show_default=True, help="Datasette port.")
@click.option("--no-serve", is_flag=True, envvar="NO_SERVE", help="Stop after printing the diff.")
def demo(db_path: str, port: int, no_serve: bool) -> None:
    """Crawl the bundled sample blog, publish a silent correction, crawl again, show the diff."""
    from archive.demo.run import run_demo

    run_demo(Path(db_path), port=port, serve=not no_serve)


def _open(db_path: str):  # type: ignore[no-untyped-def]
    if not os.path.exists(db_path):
        raise click.ClickException(
            f"no archive at {db_path} (run palimpsest crawl first, or pass --db)"
        )
    try:
        return open_db(db_path)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc


def _page(db: Any, url: str) -> dict[str, Any]:
    page = find_page(db, normalize_url(url)) or find_page(db, url)
    if page is None:
        raise click.ClickException(f"not in the archive: {url}")
    return page


from archive import cli_watch  # noqa: F401 - registers add-site, sites, reextract

if __name__ == "__main__":
    from archive.cli import cli as registered  # the module, with every command registered

    registered()
