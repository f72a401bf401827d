"""``palimpsest add-site``, ``sites`` and ``reextract``: what to watch, and re-deriving versions."""

from __future__ import annotations

import json

import click

from archive.cli import DB_OPTION, _open, _page, cli
from archive.db import open_db
from archive.schedule import DEFAULT_DISCOVERY, format_duration, parse_duration
from archive.urls import is_http_url
from archive.watch import add_site as watch_site
from archive.watch import list_sites, remove_site


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@cli.command("add-site")
@click.argument("url")
@DB_OPTION
@click.option(
    "--every",
    default=format_duration(DEFAULT_DISCOVERY),
    show_default=True,
    callback=_duration,
    help="How often to look for new articles (15m, 6h, 1d…).",
)
def add_site(url: str, db_path: str, every: int) -> None:
    """Watch the site at URL: `crawl --due` discovers its articles every --every.

    Articles already archived are revisited on their own schedule, sooner after they change.
    """
    if not is_http_url(url):
        raise click.BadParameter(f"not an http(s) URL: {url}", param_hint="URL")
    site = watch_site(open_db(db_path), url, every=every)
    click.echo(f"Watching {site['url']}: discovery every {format_duration(every)}")


@cli.group(invoke_without_command=True)
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option("--all", "include_removed", is_flag=True, help="Include sites no longer watched.")
@click.pass_context
def sites(ctx: click.Context, db_path: str, as_json: bool, include_removed: bool) -> None:
    """List the watched sites (subcommand: remove)."""
    ctx.obj = db_path
    if ctx.invoked_subcommand is not None:
        return
    rows = list_sites(_open(db_path), include_removed=include_removed)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No sites yet: palimpsest add-site URL")
    for row in rows:
        every = format_duration(row["discover_every"] or DEFAULT_DISCOVERY)
        state = (
            f"removed {row['removed_at']}"
            if row["removed_at"]
            else f"next {row['next_discovery_at'] or 'now'}"
        )
        click.echo(
            f"{row['url']}  {row['pages']} articles, {row['pages_revised']} revised;"
            f" discovery every {every}, {state}"
        )


@sites.command("remove")
@click.argument("url")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Archive (as for sites).")
@click.pass_obj
def remove(group_db_path: str, url: str, db_path: str | None) -> None:
    """Stop watching the site at URL (its articles and their history are kept)."""
    site = remove_site(_open(db_path or group_db_path), url)
    if site is None:
        raise click.ClickException(f"not a watched site: {url}")
    click.echo(f"No longer watching {site['url']}; its articles and their history are kept.")


@cli.command()
@DB_OPTION
@click.option("--url", "urls", multiple=True, help="Only this article (repeatable).")
def reextract(db_path: str, urls: tuple[str, ...]) -> None:
    """Re-run extraction over the stored raw bodies with the current extractor.

    Each version is re-derived from the body it came from; what changed is logged in the
    `reextractions` table. No version is ever created: an extractor upgrade is not an edit.
    """
    from archive.reextract import reextract as run

    db = _open(db_path)
    page_ids = [_page(db, url)["id"] for url in urls] or None
    report = run(db, page_ids=page_ids)
    click.echo(
        f"{report.versions} versions re-extracted: {report.changed} changed,"
        f" {report.failed} without an article now (kept as they were),"
        f" {report.no_body} without a stored body"
    )
    if report.now_identical:
        click.echo(
            f"{len(report.now_identical)} version(s) now identical to the version before them"
            f" (ids {', '.join(map(str, report.now_identical[:20]))}): the old extractor saw a"
            " change the current one does not."
        )
