"""Which process projects a SQLite store: an advisory lock on a file beside it.

The serving process holds it while its workers run. A CLI command that needs
current read models (create-user, verify…) then waits for those workers
instead of projecting itself, which would fence them and skip the pushes of
those events to open browsers.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(events_path: Path) -> Path:
    """The lock file of a SQLite event store."""
    return events_path.with_name(f"{events_path.name}.workers.lock")


class FileLock:
    """An exclusive, non-blocking ``flock`` (released when the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this object holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextmanager
def held(path: Path) -> Iterator[bool]:
    """Hold the lock for a one-off job; yields False if another process has it."""
    lock = FileLock(path)
    try:
        yield lock.acquire()
    finally:
        lock.release()
