"""Serving an archive with Datasette: metadata for the real database name, the command, the app.

The CLI calls ``datasette_command`` and runs it; tests and notebooks use ``make_datasette``.
Datasette opens a mutable file read-only for queries (``mode=ro``) and no canned query writes,
so serving never blocks or alters a crawl that is writing the same file.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from datasette.app import Datasette

PLACEHOLDER = "archive"
"""The database name ``metadata.yml`` is keyed by."""


@cache
def _template() -> dict[str, Any]:
    text = (files("archive") / "metadata.yml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives the database file: its stem.

    >>> database_name("/data/news.db")
    'news'
    """
    return Path(db_path).stem


def load_settings() -> dict[str, Any]:
    """The Datasette settings for serving an archive (the ``settings`` block of metadata.yml)."""
    return dict(_template().get("settings", {}))


def load_metadata(db_path: str | Path) -> dict[str, Any]:
    """Datasette metadata for the archive at ``db_path``, keyed by its real database name."""
    metadata = copy.deepcopy(_template())
    metadata.pop("settings", None)
    name = database_name(db_path)
    databases = metadata.get("databases", {})
    if PLACEHOLDER in databases:
        databases[name] = databases.pop(PLACEHOLDER)
    plugin = metadata.get("plugins", {}).get("palimpsest", {})
    if plugin.get("database") == PLACEHOLDER:
        plugin["database"] = name
    return metadata


def server_url(host: str, port: int, path: str = "/") -> str:
    """The URL of ``path`` on a server started by ``datasette_command``.

    >>> server_url("127.0.0.1", 8001, "/-/article/3")
    'http://127.0.0.1:8001/-/article/3'
    """
    return f"http://{host}:{port}{path}"


def datasette_command(
    db_path: str | Path, *, port: int, host: str = "127.0.0.1", open_path: str | None = None
) -> list[str]:
    """The ``datasette serve`` command line for the archive at ``db_path``.

    The metadata is written to a new JSON file in the temporary directory (Datasette only reads
    metadata from a file); the database is served mutable, never ``-i``, as a crawl may be writing.

    Args:
        db_path: the archive's SQLite file.
        port: TCP port to listen on.
        host: interface to bind; keep 127.0.0.1 unless the archive is meant to be public.
        open_path: when set, ask Datasette to open a browser (``--open``). Datasette 0.65 always
            opens its start page; to land on ``open_path`` itself, open ``server_url(...)`` once
            the server answers.
    """
    fd, metadata_file = tempfile.mkstemp(
        prefix=f"palimpsest-{database_name(db_path)}-", suffix=".json"
    )
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        json.dump(load_metadata(db_path), fp, ensure_ascii=False)
    command = [sys.executable, "-m", "datasette", "serve", str(db_path)]
    command += ["--metadata", metadata_file, "--port", str(port), "--host", host]
    for name, value in load_settings().items():
        command += ["--setting", name, str(value)]
    if open_path is not None:
        command.append("--open")
    return command


def make_datasette(db_path: str | Path) -> Datasette:
    """An in-process Datasette serving the archive at ``db_path``, with the Palimpsest plugin."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from archive import datasette_plugin

    if not pm.is_registered(datasette_plugin):  # the entry point is missing before `pip install`
        pm.register(datasette_plugin, name="palimpsest")
    return Datasette([str(db_path)], metadata=load_metadata(db_path), settings=load_settings())
