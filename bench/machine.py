"""The machine and software a bench ran on, for the report."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("scrapy", "twisted", "trafilatura", "lxml", "sqlite-utils", "datasette")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _git_commit(repo: Path) -> str:
    """The commit checked out, with ``+changes`` when the tree differs from it (read-only).

    The bench's own output (results/ and RESULTS.md) does not count: the memory bench usually
    runs right after the speed bench has rewritten them.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."]
            + [f":!bench/{output}" for output in ("results", "RESULTS.md")],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except OSError:
        return "unknown"
    changed = [line[3:] for line in dirty.splitlines() if line.strip()]  # "XY path"
    if len(changed) > 3:
        changed = [*changed[:3], f"{len(changed) - 3} more"]
    suffix = f" +uncommitted changes to {', '.join(changed)}" if changed else ""
    return f"{head}{suffix}" if head else "unknown"


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python, SQLite and package versions, the date and the load."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(_ram_gb(), 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _git_commit(Path(__file__).resolve().parent.parent),
        "load": os.getloadavg(),
    }
