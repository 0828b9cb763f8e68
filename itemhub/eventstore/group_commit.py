"""Group commit: concurrent commands' events saved in one event-store transaction.

The event store serialises every insert (PostgreSQL: eventsourcing locks the
table so positions are never seen out of order; SQLite: one writer), so under
load commands queue for it one transaction each. Here the first of them writes
whatever the others queued meanwhile in the same transaction. Nobody waits for
a batch to form: a command alone is written at once, and a batch is just what
queued while the previous one was being written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent

Insert = Callable[[Sequence[StoredEvent]], Sequence[int] | None]


class _Save:
    """One caller's events and, once written, their positions or its error."""

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = list(events)
        self.done = False
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None

    def run(self, insert: Insert) -> None:
        """Write these events alone."""
        try:
            self.ids = insert(self.events)
        except BaseException as exc:  # handed to its own caller
            self.error = exc
        self.done = True

    def outcome(self) -> Sequence[int] | None:
        """The positions, or the error the write raised."""
        if self.error is not None:
            raise self.error
        return self.ids


class GroupCommit:
    """Merges concurrent inserts into one; each caller still fails alone."""

    def __init__(self, insert: Insert) -> None:
        self._insert = insert
        self._changed = threading.Condition()
        self._queued: list[_Save] = []
        self._writing = False

    def insert(self, events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """Insert the events (maybe with others'); their positions, in order."""
        save = _Save(events)
        with self._changed:
            self._queued.append(save)
            while self._writing and not save.done:
                self._changed.wait()
            if save.done:
                return save.outcome()
            # Lead: write everything queued, this one included.
            batch, self._queued = self._queued, []
            self._writing = True
        try:
            self._write(batch)
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()
        return save.outcome()

    def queued(self) -> int:
        """How many inserts wait for the one being written."""
        with self._changed:
            return len(self._queued)

    def _write(self, batch: list[_Save]) -> None:
        if len(batch) == 1:
            batch[0].run(self._insert)
            return
        try:
            ids = self._insert([e for save in batch for e in save.events])
        except IntegrityError:
            # One of them conflicts (another save of the same aggregate won),
            # and the transaction wrote nothing: each alone, so only it fails.
            for save in batch:
                save.run(self._insert)
            return
        except BaseException as exc:  # an outage: every caller gets it
            for save in batch:
                save.error, save.done = exc, True
            return
        ends = list(accumulate(len(save.events) for save in batch))
        for save, end in zip(batch, ends, strict=True):
            save.ids = None if ids is None else ids[end - len(save.events) : end]
            save.done = True


class GroupCommitting(ApplicationRecorder):
    """A recorder whose plain inserts (no tracking record) are group-committed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The recorder this is mixed into implements the insert.
        self.group_commit = GroupCommit(super().insert_events)  # type: ignore[safe-super]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert, in one transaction with whatever else is waiting to."""
        if any(v is not None for v in kwargs.values()):
            # A tracking record belongs to its own transaction.
            return super().insert_events(stored_events, **kwargs)  # type: ignore[safe-super]
        return self.group_commit.insert(stored_events)
