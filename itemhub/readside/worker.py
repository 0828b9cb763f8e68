"""The projection worker: follow the log once, commit each batch to every read
model in one transaction, each with its own tracking row."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection, Sequence
from typing import cast
from uuid import UUID

from eventsourcing.persistence import OperationalError
from eventsourcing.projection import ApplicationSubscription

from itemhub.eventstore import EventAt, ItemHub
from itemhub.projections.base import Projection
from itemhub.projections.deltas import Delta
from itemhub.readside import outbox
from itemhub.readside.feed import ChangeFeed
from itemhub.readside.log_reader import END, Failure, read_into
from itemhub.readstore.outages import DATABASE_UNAVAILABLE
from itemhub.readstore.store import ReadStore
from itemhub.readstore.tracking import (
    Fenced,
    TrackingState,
    advance_all,
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


class _Frozen(Exception):
    """A read model was frozen: reload the others' in-memory state and go on."""


class _ApplyFailed(Exception):
    """One read model's handler raised inside a batch (the batch rolled back)."""

    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(name)
        self.name = name
        self.error = error


class ProjectionWorker:
    """Reader thread (subscription → queue) and writer thread (queue → batches).

    One worker serves every read model: the log is read and decoded once, and
    each batch lands in all of them in one transaction (each tracking row
    moved compare-and-set), so a write costs one read-side commit, not one per
    read model. A read model whose handler fails is frozen alone: the batch
    rolls back and is committed again without it.
    """

    def __init__(
        self,
        *,
        app: ItemHub,
        store: ReadStore,
        projections: Sequence[Projection],
        feed: ChangeFeed | None = None,
        use_outbox: bool = False,
        on_commit: Callable[[str, int], None] | None = None,
        name: str = "read-models",
    ) -> None:
        self.app = app
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.feed = feed
        # Several instances: deltas go through the outbox to every instance
        # (this one included) instead of straight to this process's feed.
        self.use_outbox = use_outbox
        self.on_commit = on_commit
        self._commits = 0
        self.name = name
        # Where every read model that is not frozen stands (the slowest of them).
        self.position = 0
        # Each read model's committed position, and the error of each frozen one.
        self.positions = dict.fromkeys(self.projections, 0)
        self.errors: dict[str, str] = {}
        # The position of the newest batch that changed each read model (or of
        # the tracking row it was loaded at): checks cached on it stay valid
        # while only other read models move.
        self.changed = dict.fromkeys(self.projections, 0)
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

    def wait_for(
        self, position: int, timeout: float, names: Collection[str] | None = None
    ) -> None:
        """Block until ``names`` (all read models) include ``position``, or raise."""
        wanted = self.projections.keys() if names is None else names

        def reached() -> bool:
            return all(self.positions[n] >= position for n in wanted)

        with self._cond:
            done = self._cond.wait_for(
                lambda: (
                    reached()
                    or self.state in {"failed", "stopped"}
                    or self._frozen_before(position, wanted) is not None
                ),
                timeout,
            )
            frozen = self._frozen_before(position, wanted)
            if frozen is not None:
                raise ProjectionFailed(
                    f"projection {frozen} failed: {self.errors[frozen]}"
                )
            if reached():
                return
            if self.state == "failed":
                raise ProjectionFailed(f"projection {self.name} failed: {self.error}")
            if self.state == "stopped":
                raise ProjectionFailed(f"projection {self.name} is not running")
        if not done:
            raise TimeoutError(
                f"projection {self.name} did not reach position {position} "
                f"within {timeout}s (at {self.position})"
            )

    def _frozen_before(self, position: int, names: Collection[str]) -> str | None:
        """A failed read model of ``names`` that does not include ``position``."""
        for name in names:
            if name in self.errors and self.positions[name] < position:
                return name
        return None

    def state_of(self, name: str) -> str:
        """One read model's state: the worker's, or failed if it is frozen."""
        return "failed" if name in self.errors else self.state

    # --- the loop -------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                self._follow()
            except (Fenced, _Frozen) as exc:
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
            tracking = {
                name: read_tracking(conn, self.store.tables, name)
                for name in self.projections
            }
            for name, projection in self.projections.items():
                if tracking[name].error is None:
                    projection.load(conn)
        with self._cond:
            # A read model whose row holds an error stays frozen until a
            # rebuild clears it (and a restart picks it up again).
            self.errors = {n: t.error for n, t in tracking.items() if t.error}
            self.positions = {n: t.position for n, t in tracking.items()}
            self.changed = dict(self.positions)
            self.position = min(
                (t.position for n, t in tracking.items() if n not in self.errors),
                default=max(self.positions.values(), default=0),
            )
            self.state = "running"
            self._cond.notify_all()
        events: queue.Queue[object] = queue.Queue(maxsize=QUEUE_MAX)
        subscription = ApplicationSubscription(self.app, gt=self.position)
        self._subscription = subscription
        if self._stopping.is_set():
            subscription.stop()
        with subscription:
            reader = threading.Thread(
                target=read_into,
                args=(subscription, events, self._stopping),
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

    def _write(
        self, events: queue.Queue[object], tracking: dict[str, TrackingState]
    ) -> None:
        while True:
            first = events.get()
            batch: list[EventAt] = []
            end: object | None = None
            item = first
            while True:
                if item is END or isinstance(item, Failure):
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
                try:
                    tracking = self._commit(batch, tracking)
                except _ApplyFailed as failed:
                    # Rolled back, but the handlers before it changed their
                    # in-memory state: freeze that read model, reload the rest.
                    self._freeze(failed.name, failed.error)
                    raise _Frozen(failed.name) from failed
            if isinstance(end, Failure):
                raise end.error
            if end is END:
                if self._stopping.is_set():
                    return
                raise OperationalError("subscription ended unexpectedly")

    def _commit(
        self, batch: Sequence[EventAt], tracking: dict[str, TrackingState]
    ) -> dict[str, TrackingState]:
        last = batch[-1][1]
        moved = dict(tracking)
        found: dict[str, list[Delta]] = {}
        behind = {
            name: state
            for name, state in tracking.items()
            if name not in self.errors and state.position < last
        }
        with self.store.writer.begin() as conn:
            # Fence first: if another writer moved a read model on (another
            # instance, a CLI catch-up, a rebuild swap), stop before touching rows.
            moved.update(advance_all(conn, self.store.tables, behind, last))
            for name, old in behind.items():
                events = [e for e in batch if e[1] > old.position]
                try:
                    deltas = self.projections[name].apply(conn, events)
                except TRANSIENT:
                    raise
                except Exception as exc:
                    raise _ApplyFailed(name, exc) from exc
                found[name] = deltas
            if self.use_outbox:
                outbox.record(conn, last, found)
                self._commits += 1
                if self._commits % PRUNE_EVERY == 0:
                    for name in self.projections:
                        outbox.prune(conn, name)
        # The changed marks first: a tab re-checks its session on the push,
        # keyed on them (runtime.users_stamp), so they must already have moved.
        with self._cond:
            for name, deltas in found.items():
                if deltas:
                    self.changed[name] = last
        # Push, then move the positions (as the relay does): a command answered
        # once its position is reached finds its deltas on the feed.
        if self.feed is not None and not self.use_outbox:
            self.feed.publish([d for deltas in found.values() for d in deltas])
        with self._cond:
            for name, state in moved.items():
                self.positions[name] = state.position
            self.position = last
            self._cond.notify_all()
        if self.on_commit is not None:
            for name in self.projections:
                if name not in self.errors:
                    self.on_commit(name, last)
        return moved

    def _freeze(self, name: str, exc: Exception) -> None:
        """Stop one read model for good (until rebuilt); the others go on."""
        message = _describe(exc)
        log.error(
            "projection %s stopped at position %d: %s",
            name,
            self.positions[name],
            message,
            exc_info=exc,
        )
        try:
            record_failure(self.store, name, message)
        except Exception:
            log.exception("could not record the failure of projection %s", name)
        with self._cond:
            self.errors[name] = message
            self._cond.notify_all()

    def _fail(self, exc: Exception) -> None:
        message = _describe(exc)
        log.error(
            "projection worker %s stopped at position %d: %s",
            self.name,
            self.position,
            message,
            exc_info=exc,
        )
        for name in self.projections:
            try:
                record_failure(self.store, name, message)
            except Exception:
                log.exception("could not record the failure of projection %s", name)
        with self._cond:
            self.error = message
            self.state = "failed"
            self._cond.notify_all()


def _describe(exc: BaseException) -> str:
    """The error's type and first line (database errors go on with values)."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"
