"""The palimpsest command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archive.capture import record_capture
from archive.cli import cli
from archive.db import open_db
from archive.models import Article, Capture

URL = "http://127.0.0.1:8000/posts/export-rules/"


@pytest.fixture
def archive_path(tmp_path):
    path = tmp_path / "archive.db"
    db = open_db(path)
    texts = [
        "Intro paragraph.\nOn October 17, 2023, the office published the rules.",
        "Intro paragraph.\nOn October 17, 2025, the office published the rules.",
    ]
    for number, text in enumerate(texts):
        record_capture(
            db,
            Capture(
                url=URL,
                page_url=URL,
                fetched_at=f"2026-11-2{number}T10:00:00Z",
                http_status=200,
                body=text.encode(),
                article=Article(title="Export rules", author="Ann", text=text, extractor="t"),
            ),
        )
    db.close()
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help, name
        result = invoke(name, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.output


def test_history(archive_path):
    result = invoke("history", URL + "?utm_source=feed", "--db", archive_path)
    assert result.exit_code == 0
    assert "2 version(s), 2 fetch(es)" in result.output
    assert "v2" in result.output
    assert "+1/-1 words  text" in result.output
    as_json = json.loads(invoke("history", URL, "--db", archive_path, "--json").output)
    assert [v["version"] for v in as_json["versions"]] == [1, 2]
    assert [c["outcome"] for c in as_json["captures"]] == ["new", "changed"]


def test_diff_plain_and_color(archive_path):
    result = invoke("diff", URL, "--db", archive_path, "--no-color")
    assert result.exit_code == 0
    assert "version 1" in result.output
    assert "[-2023-]{+2025+}" in result.output
    assert "text: +1 / -1 words" in result.output
    colored = invoke("diff", URL, "--db", archive_path, "--color", "--from", "1", "--to", "2")
    assert "\x1b[" in colored.output
    missing = CliRunner().invoke(cli, ["diff", URL, "--db", str(archive_path), "--to", "7"])
    assert missing.exit_code == 1
    assert "versions 1..2" in missing.output


def test_unknown_url_and_missing_archive(archive_path, tmp_path):
    result = CliRunner().invoke(cli, ["history", "http://nowhere.test/", "--db", str(archive_path)])
    assert result.exit_code == 1
    assert "not in the archive" in result.output
    result = CliRunner().invoke(cli, ["stats", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "no archive at" in result.output
    assert not (tmp_path / "none.db").exists()


def test_stats(archive_path):
    result = invoke("stats", "--db", archive_path)
    assert result.exit_code == 0
    assert "versions" in result.output
    numbers = json.loads(invoke("stats", "--db", archive_path, "--json").output)
    assert numbers["versions"] == 2
    assert numbers["pages_revised"] == 1


def test_crawl_rejects_bad_settings_and_urls(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "http://127.0.0.1:9/", "-s", "NOEQUALS"])
    assert result.exit_code == 2
    done = subprocess.run(
        [sys.executable, "-m", "archive.cli", "crawl", "not-a-url", "--db", str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert "not an http(s) URL" in done.stderr


@pytest.mark.e2e
def test_crawl_command_archives_the_blog(blog, tmp_path):
    db_path = tmp_path / "archive.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "archive.cli",
            "crawl",
            blog.base_url + "/",
            "--db",
            str(db_path),
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "DOWNLOAD_DELAY=0",
            "--max-pages",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # off a terminal a crawl is quiet (cron mails any output)...
    log = db_path.with_suffix(".log").read_text()
    assert "Crawl finished" in log  # ...and logs to a file instead
    assert open_db(db_path)["pages"].count == 2


@pytest.mark.e2e
def test_demo_no_serve(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "archive.cli",
            "demo",
            "--no-serve",
            "--db",
            str(tmp_path / "demo.db"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "fetched 7 · new 7" in out
    assert "new 0 · changed 1 · unchanged 6" in out
    assert "[-2024-]{+2026+}" in out
    assert "text: +1 / -1 words" in out
