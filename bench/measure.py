"""Run a command and measure its whole process tree: wall time, CPU time, peak RSS.

CPU comes from ``getrusage(RUSAGE_CHILDREN)`` before and after: it counts every descendant that
was waited for, and nothing else, as long as no other child of this process ends meanwhile (the
blog server runs for the whole bench). This process is made a *child subreaper*, so descendants
their parent never waits for (a multiprocessing forkserver outlives the crawler by a moment and
is reaped by nobody; the workers forked from it are reaped by it) come back to it, and it reaps
them: their CPU is counted too. Peak RSS is the
largest sum of the tree's resident sets, sampled from /proc every ``interval`` seconds; pages
shared between processes (a forkserver and the workers forked from it) count once per process
there. Peak PSS, sampled alongside from ``smaps_rollup``, splits each shared page between the
processes that share it: the memory the tree really takes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_PAGE = os.sysconf("SC_PAGE_SIZE")
_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process instead of init (Linux ≥ 3.4)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _reap_orphans(known: set[int], timeout: float = 10.0) -> None:
    """Wait for the processes that became our children when their parent exited (not ``known``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        orphans = set(_children().get(os.getpid(), [])) - known
        if not orphans:
            return
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)


@dataclass(frozen=True)
class Measurement:
    """What one command cost."""

    returncode: int
    wall_s: float
    cpu_s: float
    """User + system time of the command and all its descendants."""
    peak_rss: int
    """Bytes: the largest sampled sum of resident sets over the process tree."""
    peak_processes: list[tuple[str, int]]
    """At that peak: each process (``process_label``) and its resident bytes."""
    peak_pss: int = 0
    """Bytes: the largest sampled sum of proportional set sizes over the process tree."""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss(pid: int) -> dict[int, int]:
    """Resident bytes of ``pid`` and of each of its descendants right now."""
    tree, sizes, stack = _children(), {}, [pid]
    while stack:
        current = stack.pop()
        stack.extend(tree.get(current, []))
        with contextlib.suppress(OSError, IndexError, ValueError):  # it ended while we looked
            sizes[current] = int(Path(f"/proc/{current}/statm").read_text().split()[1]) * _PAGE
    return sizes


def tree_pss(pids: list[int]) -> int:
    """Sum of the proportional set sizes of ``pids`` right now (bytes)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):  # it ended while we looked
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


def process_label(pid: int, root: int) -> str:
    """main, worker (multiprocessing), resource tracker, or the start of its command line."""
    if pid == root:
        return "main"
    try:
        args = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return "?"
    if "resource_tracker" in args:
        return "resource tracker"
    if "forkserver" in args:
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
        parent = int(stat.rsplit(")", 1)[1].split()[1]) if stat else 0
        return "forkserver" if parent == root else "worker"
    if "spawn_main" in args:
        return "worker"
    return args[:40]


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_pss = 0
        self.at_peak: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            sizes = tree_rss(self.pid)
            self.peak_pss = max(self.peak_pss, tree_pss(list(sizes)))
            if sum(sizes.values()) > self.peak:
                self.peak, self.at_peak = sum(sizes.values()), sizes
                self.names = {pid: process_label(pid, self.pid) for pid in sizes}
            self.stop.wait(self.interval)

    def breakdown(self) -> list[tuple[str, int]]:
        return [(self.names.get(pid, "?"), rss) for pid, rss in self.at_peak.items()]


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(
    command: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    stdout: Path | None = None,
    timeout: float = 7200,
    interval: float = 0.1,
) -> Measurement:
    """Run ``command`` to completion and measure it.

    Its stderr goes to ``log``, its stdout to ``stdout`` (or to ``log`` too).
    """
    _become_subreaper()
    cpu_before = _cpu_of_children()
    children_before = set(_children().get(os.getpid(), []))
    start = time.perf_counter()
    with open(log or os.devnull, "ab") as err, open(stdout or log or os.devnull, "ab") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = _Sampler(process.pid, interval)
        sampler.start()
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            sampler.stop.set()
            sampler.join()
            _reap_orphans(children_before)
    wall = time.perf_counter() - start
    cpu = _cpu_of_children() - cpu_before
    return Measurement(
        returncode, wall, cpu, sampler.peak, sampler.breakdown(), peak_pss=sampler.peak_pss
    )
