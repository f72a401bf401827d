"""``palimpsest demo``: the whole story on the sample blog, in about ten seconds.

Serve the blog on 127.0.0.1, crawl it, publish a silent correction to one post, crawl again, print
the diff, and open Datasette on that diff.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import click

from archive.db import open_db
from archive.demo.posts import apply_corrections, load_posts
from archive.demo.site import SITE_NAME, serve_blog
from archive.store import get_version

# The sample blog is ours and on loopback: no need to wait between requests.
LOCAL_SETTINGS = [
    "AUTOTHROTTLE_ENABLED=False",
    "DOWNLOAD_DELAY=0",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]


def run_demo(db_path: Path, *, port: int = 8001, serve: bool = True) -> None:
    """Run the demo into a fresh archive at ``db_path``; then serve Datasette unless ``serve`` is off."""
    from archive.cli import crawl_command, diff_report

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    log_file = str(db_path.with_suffix(".log"))
    posts = load_posts()
    with serve_blog(posts) as site:
        command = crawl_command(
            [site.base_url + "/"],
            str(db_path),
            settings=LOCAL_SETTINGS,
            log_file=log_file,
            summary=True,
        )

        def crawl_site() -> None:
            code = subprocess.call(command)
            if code != 0:
                raise click.ClickException(f"crawl failed with exit code {code}; see {log_file}")

        click.secho(f"1. Serving the sample blog {SITE_NAME!r} at {site.base_url}/", bold=True)
        click.secho("2. First crawl: every post becomes version 1", bold=True)
        crawl_site()
        click.secho(
            "3. The publisher silently corrects a date in one post (no update notice)", bold=True
        )
        site.publish_posts(apply_corrections(posts))
        click.secho("4. Second crawl: only the corrected post gets a new version", bold=True)
        crawl_site()

    db = open_db(db_path)
    changed = db.execute(
        "select p.id, p.url from pages p where p.version_count > 1 order by p.id"
    ).fetchall()
    if not changed:
        raise click.ClickException(f"the demo found no edit; see the crawl log {log_file}")
    page_id, url = changed[0]
    click.secho("5. What changed:", bold=True)
    old, new = get_version(db, page_id, 1), get_version(db, page_id, 2)
    if old is None or new is None:
        raise click.ClickException(f"versions 1 and 2 of {url} are missing from {db_path}")
    click.echo(diff_report(old, new, url, color=click.get_text_stream("stdout").isatty()))
    db.close()
    diff_path = f"/-/diff/{page_id}/1/2"
    if not serve:
        click.echo(f"\nArchive: {db_path}. Browse it with: palimpsest serve --db {db_path}")
        return
    _serve(db_path, port, diff_path)


def _serve(db_path: Path, port: int, diff_path: str) -> None:
    from archive.serve import datasette_command

    url = f"http://127.0.0.1:{port}{diff_path}"
    click.secho(f"6. Datasette: open {url}  (Ctrl-C to stop)", bold=True)
    process = subprocess.Popen(datasette_command(str(db_path), port=port))
    try:
        while process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)
