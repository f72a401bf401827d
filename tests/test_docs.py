"""The README documents every command, every Palimpsest setting and every table; its generated blocks are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archive.cli import cli
from archive.db import memory_db
from scraper import settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
OWN_PREFIXES = ("ARCHIVE_", "EXTRACT_", "BLOG_", "PALIMPSEST_", "PROGRESS_")


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented(command):
    assert f"palimpsest {command}" in README


@pytest.mark.parametrize("name", sorted(n for n in dir(settings) if n.startswith(OWN_PREFIXES)))
def test_every_setting_is_documented(name):
    assert f"`{name}`" in README


def test_every_table_is_documented():
    db = memory_db()
    for table in ("sites", "pages", "versions", "captures", "bodies", "crawls", "versions_fts"):
        assert table in db.table_names()
        assert f"`{table}`" in README


def test_readme_generated_blocks_are_current():
    done = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(ROOT / "README.md")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr + " (run: make fmt)"


def test_readme_gives_the_two_setup_commands():
    assert "make demo" in README
    assert "make test" in README
