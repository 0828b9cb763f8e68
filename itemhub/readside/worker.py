"""One worker per read model: follow the log, commit batches with their position."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from eventsourcing.persistence import OperationalError
from eventsourcing.projection import ApplicationSubscription

from itemhub.eventstore import EventAt, ItemHub
from itemhub.projections.base import Projection
from itemhub.readside import outbox
from itemhub.readside.feed import ChangeFeed
from itemhub.readstore.outages import DATABASE_UNAVAILABLE
from itemhub.readstore.store import ReadStore
from itemhub.readstore.tracking import (
    Fenced,
    TrackingState,
    advance_tracking,
    read_tracking,
    record_failure,
)

log = logging.getLogger(__name__)

BATCH_MAX = 1000
QUEUE_MAX = 4 * BATCH_MAX
# Old outbox rows are dropped every this many batches.
PRUNE_EVERY = 200
# Database hiccups (the same list every layer calls an outage) are retried
# from the committed position; anything else is a bug in a handler and stops
# the worker rather than skip an event.
TRANSIENT = DATABASE_UNAVAILABLE


class ProjectionFailed(Exception):
    """A projection worker stopped on an error; its read model is frozen."""


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException


_END = object()


class ProjectionWorker:
    """Reader thread (subscription → queue) and writer thread (queue → batches)."""

    def __init__(
        self,
        *,
        app: ItemHub,
        store: ReadStore,
        projection: Projection,
        feed: ChangeFeed | None = None,
        use_outbox: bool = False,
        on_commit: Callable[[str, int], None] | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.projection = projection
        self.feed = feed
        # Several instances: deltas go through the outbox to every instance
        # (this one included) instead of straight to this process's feed.
        self.use_outbox = use_outbox
        self.on_commit = on_commit
        self._commits = 0
        self.name = projection.name
        self.position = 0
        # The position of the newest batch that changed this read model (or of
        # the tracking row it was loaded at): checks cached on it stay valid
        # while only other read models move.
        self.changed = 0
        self.state = "stopped"
        self.error: str | None = None
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._subscription: ApplicationSubscription[UUID] | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start following the log from the committed position (once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self.error = None
        self.state = "starting"
        self._thread = threading.Thread(
            target=self._run, name=f"itemhub-projection-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in flight, close the subscription, join the threads."""
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("projection %s did not stop within %ss", self.name, timeout)
        with self._cond:
            if self.state != "failed":
                self.state = "stopped"
            self._cond.notify_all()

    # --- read-your-writes -----------------------------------------------------

    def wait_for(self, position: int, timeout: float) -> None:
        """Block until this read model includes ``position``; raise if it cannot."""
        with self._cond:
            reached = self._cond.wait_for(
                lambda: (
                    self.position >= position or self.state in {"failed", "stopped"}
                ),
                timeout,
            )
            if self.position >= position:
                return
            if self.state == "failed":
                raise ProjectionFailed(f"projection {self.name} failed: {self.error}")
            if self.state == "stopped":
                raise ProjectionFailed(f"projection {self.name} is not running")
        if not reached:
            raise TimeoutError(
                f"projection {self.name} did not reach position {position} "
                f"within {timeout}s (at {self.position})"
            )

    # --- the loop -------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                self._follow()
            except Fenced as exc:
                log.info("projection %s: %s; reloading", self.name, exc)
            except TRANSIENT as exc:
                log.warning(
                    "projection %s: database error, retrying in %.1fs: %s",
                    self.name,
                    backoff,
                    exc,
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            except Exception as exc:
                self._fail(exc)
                return
            else:
                backoff = 0.1

    def _follow(self) -> None:
        with self.store.writer.begin() as conn:
            tracking = read_tracking(conn, self.store.tables, self.name)
            self.projection.load(conn)
        with self._cond:
            self.position = self.changed = tracking.position
            self.state = "running"
            self._cond.notify_all()
        events: queue.Queue[object] = queue.Queue(maxsize=QUEUE_MAX)
        subscription = ApplicationSubscription(self.app, gt=tracking.position)
        self._subscription = subscription
        if self._stopping.is_set():
            subscription.stop()
        with subscription:
            reader = threading.Thread(
                target=self._read,
                args=(subscription, events),
                name=f"itemhub-reader-{self.name}",
                daemon=True,
            )
            reader.start()
            try:
                self._write(events, tracking)
            finally:
                subscription.stop()
                # Unblock a reader waiting on a full queue.
                while reader.is_alive():
                    try:
                        events.get(timeout=0.05)
                    except queue.Empty:
                        pass
                reader.join()
                self._subscription = None

    def _read(
        self, subscription: ApplicationSubscription[UUID], events: queue.Queue[object]
    ) -> None:
        item: object = _END
        try:
            for event, tracking in subscription:
                self._put(events, (event, tracking.notification_id))
        except BaseException as exc:
            item = _Failure(exc)
        self._put(events, item)

    def _put(self, events: queue.Queue[object], item: object) -> None:
        while True:
            try:
                events.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._stopping.is_set() and item is not _END:
                    return

    def _write(self, events: queue.Queue[object], tracking: TrackingState) -> None:
        while True:
            first = events.get()
            batch: list[EventAt] = []
            end: object | None = None
            item = first
            while True:
                if item is _END or isinstance(item, _Failure):
                    end = item
                    break
                batch.append(cast(EventAt, item))
                if len(batch) >= BATCH_MAX:
                    break
                try:
                    item = events.get_nowait()
                except queue.Empty:
                    break
            if batch:
                tracking = self._commit(batch, tracking)
            if isinstance(end, _Failure):
                raise end.error
            if end is _END:
                if self._stopping.is_set():
                    return
                raise OperationalError("subscription ended unexpectedly")

    def _commit(
        self, batch: Sequence[EventAt], tracking: TrackingState
    ) -> TrackingState:
        last = batch[-1][1]
        with self.store.writer.begin() as conn:
            # Fence first: if another writer moved this read model on (another
            # instance, a CLI catch-up, a rebuild swap), stop before touching rows.
            tracking = advance_tracking(
                conn, self.store.tables, self.name, tracking, last
            )
            deltas = self.projection.apply(conn, batch)
            if self.use_outbox:
                outbox.record(conn, self.name, last, deltas)
                self._commits += 1
                if self._commits % PRUNE_EVERY == 0:
                    outbox.prune(conn, self.name)
        with self._cond:
            if deltas:
                self.changed = last
            self.position = last
            self._cond.notify_all()
        if self.on_commit is not None:
            self.on_commit(self.name, last)
        if self.feed is not None and not self.use_outbox:
            self.feed.publish(deltas)
        return tracking

    def _fail(self, exc: Exception) -> None:
        # First line only: database errors go on with the statement and values.
        first_line = (str(exc).strip().splitlines() or [""])[0]
        message = f"{type(exc).__name__}: {first_line}"
        log.error(
            "projection %s stopped at position %d: %s",
            self.name,
            self.position,
            message,
            exc_info=exc,
        )
        try:
            record_failure(self.store, self.name, message)
        except Exception:
            log.exception("could not record the failure of projection %s", self.name)
        with self._cond:
            self.error = message
            self.state = "failed"
            self._cond.notify_all()
