"""A restartable daemon thread with a stop flag, for the read side's helpers."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class BackgroundThread:
    """Runs ``_run`` in a daemon thread until ``stop``; ``start`` again restarts it."""

    stop_timeout = 10.0

    def __init__(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (no-op while it runs)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._starting()
        self._thread = threading.Thread(
            target=self._run, name=self.thread_name, daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (up to ``stop_timeout``)."""
        self._stopping.set()
        if self._thread is not None:
            wait = self.stop_timeout if timeout is None else timeout
            self._thread.join(wait)
            if self._thread.is_alive():
                log.warning("%s did not stop within %ss", self.thread_name, wait)

    def _starting(self) -> None:
        """Reset per-run state before the thread starts (a hook)."""

    def _run(self) -> None:
        raise NotImplementedError
