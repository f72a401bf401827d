"""Render bench/RESULTS.md from the JSON results of the last runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.contenders import NAMES
from bench.targets import Target, datasette_targets, memory_targets, speed_targets

if TYPE_CHECKING:
    from pathlib import Path

HEADER = """# Benchmark results

Written by `make bench` / `make bench-memory` (see [README.md](README.md)); do not edit by hand,
rerun. Each section says when and on what it ran: the machine is shared, so read the load average
next to the numbers.
"""


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _load_avg(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _machine(data: dict[str, Any]) -> str:
    m = data["machine"]
    extra = data.get("crawl_settings") or []
    settings = f" Palimpsest crawls ran with `-s {' -s '.join(extra)}`." if extra else ""
    packages = ", ".join(f"{name} {version}" for name, version in m["packages"].items())
    load = f"{_load_avg(data.get('load_before', m['load']))} → {_load_avg(m['load'])}"
    return (
        f"Ran {m['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}, {packages}; commit {m['commit']}. "
        f"Load average (1/5/15 min) at start → end: {load}.{settings}\n"
    )


def _targets_table(targets: list[Target]) -> str:
    lines = ["| target | measured | required | met | why, when missed |", "|---|---|---|---|---|"]
    for t in targets:
        lines.append(
            f"| {t.name} | {t.measured} | {t.required} | {'yes' if t.met else '**no**'} | {t.why} |"
        )
    return "\n".join(lines) + "\n"


def _speed(speed: dict[str, Any]) -> str:
    s = speed["summary"]
    lines = [
        f"## Speed: N = {speed['n']:,} posts, medians of {speed['rounds']} round(s)\n",
        _machine(speed),
        (
            f"Scrapy contenders and the trafilatura CLI run with {speed['concurrency']} requests "
            "in flight, no AutoThrottle, no download delay. pages/s counts the whole command, "
            "start-up included (for Palimpsest, *in crawl* counts Scrapy's own elapsed time "
            "only); CPU and peak RSS are of the contender's whole process tree (workers "
            "included, the blog server excluded).\n"
        ),
        (
            "| | contender | pages | pages/s | in crawl | CPU ms/page | peak RSS MB "
            "| archive bytes/page | F1 | server CPU ms/page |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in NAMES.items():
        if name not in s:
            continue
        r = s[name]
        lines.append(
            f"| ({name}) | {label} | {_num(r['pages'])} | {_num(r['pages_per_s'], 1)} "
            f"| {_num(r.get('crawl_pages_per_s'), 1)} | {_num(r['cpu_ms_per_page'])} | {_num(r['peak_rss_mb'])} "
            f"| {_num(r['archive_bytes_per_page'])} | {_num(r['f1'], 4)} "
            f"| {_num(r['server_cpu_ms_per_page'], 2)} |"
        )
    server = "; ".join(
        f"{r['kind']}: {r['per_second']:,.0f}/s ({r['mb_per_second']:,.0f} MB/s)"
        for r in speed["server_alone"]
    )
    lines.append(
        f"\nThe blog server alone (a keep-alive asyncio client, same machine, nothing else "
        f"running in the bench): {server}.\n"
    )
    lines.append(_recrawl_outcomes(speed))
    targets = speed_targets(speed, speed["machine"]["cores"])
    if targets:
        lines.append("### Targets\n\n" + _targets_table(targets))
    return "\n".join(lines) + "\n"


def _recrawl_outcomes(speed: dict[str, Any]) -> str:
    """What each Palimpsest crawl did with the pages (last round), from its Scrapy stats."""
    rows = ["| | outcomes (last round) |", "|---|---|"]
    last: dict[str, dict[str, Any]] = {}
    for run in speed["runs"]:
        last[run["contender"]] = run
    for name in "defg":
        if name in last:
            detail = last[name]["detail"]
            shown = ", ".join(
                f"{_stat_label(key)} {value}"
                for key, value in sorted(detail.items())
                if key != "archive/crawl_id" and isinstance(value, int)
            )
            rows.append(f"| ({name}) | {shown} |")
    return "\n".join(rows) + "\n"


def _stat_label(key: str) -> str:
    """``archive/new`` → ``new``; ``downloader/response_status_count/304`` → ``HTTP 304``."""
    if key.startswith("downloader/response_status_count/"):
        return "HTTP " + key.rsplit("/", 1)[1]
    return key.split("/", 1)[1] if key.startswith("archive/") else key


def _memory(memory: dict[str, Any]) -> str:
    lines = [
        "## Memory: Palimpsest's first crawl (d) at growing N\n",
        _machine(memory),
        (
            "| N | pages | pages/s | CPU ms/page | peak RSS MB (process tree) | at the peak "
            "| peak PSS MB (process tree) |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in sorted(memory["sizes"].items(), key=lambda item: int(item[0])):
        parts = ", ".join(f"{label} {rss / 2**20:.0f}" for label, rss in r["peak_processes"])
        lines.append(
            f"| {int(n):,} | {_num(r['pages'])} | {_num(r['pages_per_s'], 1)} "
            f"| {_num(r['cpu_ms_per_page'])} | {_num(r['peak_rss_mb'])} | {parts} MB "
            f"| {_num(r.get('peak_pss_mb'))} |"
        )
    lines.append("\n### Targets\n\n" + _targets_table(memory_targets(memory)))
    return "\n".join(lines) + "\n"


def _datasette(data: dict[str, Any]) -> str:
    a = data["archive"]
    lines = [
        "## Datasette on a big archive\n",
        _machine(data),
        (
            f"A generated archive of {a['versions']:,} versions of {a['pages']:,} pages "
            f"({a['bytes'] / 2**20:,.0f} MB), served by `datasette serve` as `palimpsest serve` "
            f"runs it; {data['requests']} sequential requests per URL after 2 warm-ups.\n"
        ),
        "| URL | median ms | p90 ms | bytes |",
        "|---|---|---|---|",
    ]
    for label, r in data["urls"].items():
        lines.append(
            f"| {label}: `{r['path']}` | {_num(r['median_ms'])} | {_num(r['p90_ms'])} "
            f"| {_num(r['bytes'])} |"
        )
    parts = data["diff_parts"]
    lines.append(
        f"\nIn-process, for the diff 1→last: its SQL takes {parts['sql_ms']:.1f} ms and "
        f"`archive.diff.diff_html` {parts['diff_html_ms']:.0f} ms.\n\nQuery plans:\n"
    )
    for query, plan in data["plans"].items():
        label = "search canned query" if query == "search" else f"`{query}`"
        lines.append(f"- {label}: {'; '.join(plan)}")
    lines.append("\n### Targets\n\n" + _targets_table(datasette_targets(data)))
    return "\n".join(lines) + "\n"


def _at_a_glance(loaded: dict[str, dict[str, Any] | None]) -> str:
    """Every target of every section that ran, met or not, in one short table."""
    targets: list[Target] = []
    if loaded["speed"]:
        targets += speed_targets(loaded["speed"], loaded["speed"]["machine"]["cores"])
    if loaded["memory"]:
        targets += memory_targets(loaded["memory"])
    if loaded["datasette"]:
        targets += datasette_targets(loaded["datasette"])
    lines = [
        "## Targets at a glance\n",
        "| target | measured | required | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t.name} | {t.measured} | {t.required} | {'yes' if t.met else '**no**'} |"
        for t in targets
    ]
    return "\n".join(lines) + "\n\nThe sections below say why each miss happens.\n"


def write_report(results: Path, out: Path) -> Path:
    """Write ``out`` from ``results/{speed,memory,datasette}.json`` (whichever exist)."""
    renderers = {"speed": _speed, "memory": _memory, "datasette": _datasette}
    loaded = {name: _load(results, name) for name in renderers}
    sections = [HEADER, _at_a_glance(loaded)]
    for name, render in renderers.items():
        data = loaded[name]
        if data is None:
            sections.append(f"## {name.capitalize()}\n\nNot run yet (see README.md).\n")
        else:
            sections.append(render(data))
    out.write_text("\n".join(sections), encoding="utf-8")
    return out
