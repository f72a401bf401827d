"""One crawl at a time per archive: an advisory lock that a killed run cannot leave behind.

``flock`` locks belong to the open file: the kernel releases them when the process holding them
dies, however it dies (``kill -9`` included). A lock file left on disk by a killed run is therefore
never "stale": the next run simply takes the lock again. The file records who holds it, for humans.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from typing_extensions import Self

from archive.store import utc_now


class LockHeld(Exception):
    """Another process holds the archive's crawl lock."""


class CrawlLock:
    """``with CrawlLock("archive.db"):`` — exclusive, non-blocking, per archive file."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._file: IO[str] | None = None

    def __enter__(self) -> Self:
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockHeld(f"{self.path} is held by {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utc_now()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
