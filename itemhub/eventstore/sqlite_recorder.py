"""A SQLite application recorder that can be subscribed to.

Stock ``SQLiteApplicationRecorder.subscribe()`` raises ``NotImplementedError``.
This one wakes subscribers in this process as soon as a write commits, and
polls so that writes made by other processes (the CLI) are seen too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ListenNotifySubscription, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from itemhub.eventstore.group_commit import GroupCommitting

POLL_INTERVAL = 0.25


class NotifyingSQLiteApplicationRecorder(GroupCommitting, SQLiteApplicationRecorder):
    """Sets every registered listener after each committed insert."""

    poll_interval = POLL_INTERVAL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listeners: set[threading.Event] = set()
        self._listeners_lock = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert (and commit), then wake the subscribers."""
        ids = super().insert_events(stored_events, **kwargs)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.set()
        return ids

    def add_listener(self, listener: threading.Event) -> None:
        """Register an event to set after each insert."""
        with self._listeners_lock:
            self._listeners.add(listener)

    def remove_listener(self, listener: threading.Event) -> None:
        """Forget a listener."""
        with self._listeners_lock:
            self._listeners.discard(listener)

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> SQLiteSubscription:
        """Follow the log from position ``gt``."""
        return SQLiteSubscription(recorder=self, gt=gt, topics=topics)


class SQLiteSubscription(ListenNotifySubscription[NotifyingSQLiteApplicationRecorder]):
    """Pulls on in-process notifications and on a short poll."""

    def __init__(
        self,
        recorder: NotifyingSQLiteApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        # Set before super(): super().__init__ starts the pull thread at once.
        self._poll_stop = threading.Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        recorder.add_listener(self._has_been_notified)
        self._poll_thread = threading.Thread(
            target=self._poll, name="itemhub-sqlite-poll", daemon=True
        )
        self._poll_thread.start()

    def _poll(self) -> None:
        while not self._poll_stop.wait(self._recorder.poll_interval):
            self._has_been_notified.set()

    def stop(self) -> None:
        """Stop pulling and polling."""
        self._recorder.remove_listener(self._has_been_notified)
        self._poll_stop.set()
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()
