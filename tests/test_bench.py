"""``make bench`` on a small blog: every contender runs, and the report says what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
@pytest.mark.corpus
def test_the_speed_bench_runs_every_contender_and_writes_the_report(tmp_path):
    n = 30
    command = [sys.executable, "-m", "bench", "speed", "--n", str(n), "--runs", "1"]
    command += ["--results", str(tmp_path), "--work", str(tmp_path / "work")]
    done = subprocess.run(
        command, check=False, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    speed = json.loads((tmp_path / "speed.json").read_text())
    runs = {run["contender"]: run for run in speed["runs"]}
    assert sorted(runs) == sorted("abcdefgsx")
    assert {name: run["returncode"] for name, run in runs.items()} == dict.fromkeys(runs, 0)
    # Every contender did the whole job: n posts extracted, archived or (s) answered 304.
    assert {name: run["pages"] for name, run in runs.items()} == dict.fromkeys(runs, n)
    assert runs["e"]["detail"]["archive/not_modified"] == n
    assert runs["s"]["detail"]["downloader/response_status_count/304"] == n
    assert runs["g"]["detail"]["archive/changed"] == n // 10
    assert runs["d"]["f1"] == runs["a"]["f1"] > 0.9
    report = (tmp_path / "RESULTS.md").read_text()
    assert "| (s) | Scrapy alone" in report
    assert "| recrawl (e) vs first crawl (d) |" in report
    assert f"Speed: N = {n} posts" in report
