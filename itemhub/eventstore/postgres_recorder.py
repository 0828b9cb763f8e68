"""A PostgreSQL application recorder whose subscriptions cannot miss a write.

eventsourcing 9.5.6 pulls once when a subscription starts and then waits for
NOTIFY; a write committed after that pull but before its LISTEN is registered
would wait for the next write. Pulling again right after LISTEN closes that gap,
and a slow safety poll covers notifications lost with a connection.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresSubscription
from psycopg.sql import SQL, Identifier

from itemhub.eventstore.group_commit import GroupCommitting

SAFETY_POLL_SECONDS = 2.0


class ReliablePostgresApplicationRecorder(GroupCommitting, PostgresApplicationRecorder):
    """Group-commits inserts, and hands out ``ReliablePostgresSubscription``s."""

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> ReliablePostgresSubscription:
        """Follow the log after position ``gt``."""
        return ReliablePostgresSubscription(recorder=self, gt=gt, topics=topics)


class ReliablePostgresSubscription(PostgresSubscription):
    """LISTEN, then pull once more; and pull every few seconds regardless."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before super(): super().__init__ starts the pull and listen threads.
        self._poll_stop = threading.Event()
        super().__init__(*args, **kwargs)
        self._poll_thread = threading.Thread(
            target=self._poll, name="itemhub-pg-poll", daemon=True
        )
        self._poll_thread.start()

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(
                    SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name))
                )
                # Anything committed before LISTEN took effect: pull it now.
                self._has_been_notified.set()
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except BaseException as exc:
            if self._thread_error is None:
                self._thread_error = exc
            self.stop()

    def _poll(self) -> None:
        while not self._poll_stop.wait(SAFETY_POLL_SECONDS):
            self._has_been_notified.set()

    def stop(self) -> None:
        """Stop pulling, listening and polling."""
        self._poll_stop.set()
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()
