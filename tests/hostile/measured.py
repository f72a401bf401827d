"""``python -m scraper.run`` that also writes its own peak RSS (KiB) next to the archive (``.rss``)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from scraper.run import main


def _peak_rss_kib() -> int:
    # VmHWM is this process's own peak; ru_maxrss would include the parent's, as Linux carries it
    # across fork and exec (and the parent is pytest, which grows over a long run).
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


if __name__ == "__main__":
    args = sys.argv[1:]
    db = Path(args[args.index("--db") + 1])
    try:
        code = main(args)
    finally:
        db.with_suffix(".rss").write_text(str(_peak_rss_kib()))
    sys.exit(code)
