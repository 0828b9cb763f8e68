"""Board checkpoints written ahead of time, so time travel never folds far.

Reads of the board as of a past moment store checkpoints lazily as they pass
them; without this, the first look far into the past would fold the whole log.
A background thread folds to the head whenever the log has grown a checkpoint
spacing past the newest checkpoint (on PostgreSQL only on one instance at a
time: a duplicate would be harmless, but the fold costs CPU).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from itemhub.eventstore import ItemHub, head_position
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.history import board_as_of
from itemhub.readside.background import BackgroundThread

log = logging.getLogger(__name__)

CHECK_EVERY = 5.0

Lock = Callable[[], AbstractContextManager[bool]]


class Checkpointer(BackgroundThread):
    """A thread keeping the newest board checkpoint within a spacing of the head."""

    def __init__(
        self,
        app: ItemHub,
        checkpoints: BoardCheckpoints,
        *,
        lock: Lock | None = None,
        every: float = CHECK_EVERY,
    ) -> None:
        super().__init__("itemhub-checkpointer")
        self.app = app
        self.checkpoints = checkpoints
        self.lock: Lock = lock or (lambda: nullcontext(True))
        self.every = every

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                self.run_once()
            except Exception as exc:
                # Only a cache: time travel still works (slower) without it.
                log.warning("board checkpoints not written: %s", exc)

    def run_once(self) -> int | None:
        """Fold to the head if the newest checkpoint is a spacing behind it.

        Returns the head folded to, or None when nothing was due (or another
        instance holds the lock).
        """
        head = head_position(self.app)
        newest = max(self.checkpoints.positions(), default=0)
        if head - newest < self.checkpoints.spacing:
            return None
        with self.lock() as ours:
            if not ours:
                return None
            board_as_of(self.app, head, (), checkpoints=self.checkpoints)
        return head
