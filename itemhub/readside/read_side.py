"""All projection workers of one process, and waiting on them.

One worker projects every read model (one read of the log, one transaction
per batch). SQLite (one instance): this process runs it and feeds its own
change feed. PostgreSQL (one or several instances): an elector runs the worker
only while it holds the read models' advisory lock, and the outbox relay gives
every instance the committed positions and deltas, whichever instance runs
the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from pathlib import Path

from itemhub.eventstore import ItemHub, head_position
from itemhub.projections.dto import ProjectionStatus
from itemhub.projections.registry import PROJECTIONS, feeds
from itemhub.readside.election import READ_MODELS_LOCK, Elector
from itemhub.readside.feed import ChangeFeed
from itemhub.readside.file_lock import FileLock
from itemhub.readside.relay import OutboxRelay, Positions
from itemhub.readside.worker import ProjectionFailed, ProjectionWorker
from itemhub.readstore.store import ReadStore

log = logging.getLogger(__name__)

# How long start() waits for the first election round (a lock free at once is
# taken within milliseconds; a lock held elsewhere answers at once as well).
FIRST_ROUND_TIMEOUT = 5.0


class ReadSide:
    """Starts, stops and waits on one worker per read model."""

    def __init__(
        self,
        app: ItemHub,
        store: ReadStore,
        feed: ChangeFeed | None,
        *,
        conninfo: str | None = None,
        lock_file: Path | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.clustered = conninfo is not None
        self.positions = Positions(PROJECTIONS)
        self.worker = ProjectionWorker(
            app=app,
            store=store,
            projections=[cls(store.tables) for cls in PROJECTIONS.values()],
            feed=feed,
            use_outbox=self.clustered,
            # Clustered, the relay moves the positions once it has pushed
            # the batch's deltas, on the leader's instance as on the others.
            on_commit=None if self.clustered else self.positions.advance,
            name=READ_MODELS_LOCK,
        )
        self.names = tuple(PROJECTIONS)
        self.file_lock = FileLock(lock_file) if lock_file is not None else None
        self.elector: Elector | None = None
        self.relay: OutboxRelay | None = None
        if conninfo is not None:
            self.elector = Elector(conninfo, self.worker)
            self.relay = OutboxRelay(
                conninfo=conninfo,
                store=store,
                feed=feed,
                positions=self.positions,
                feeds=list(feeds()),
            )

    def start(self) -> None:
        """Start every worker, or compete for each projection's lock."""
        if self.relay is None:
            if self.file_lock is not None and not self.file_lock.acquire():
                log.warning(
                    "another process runs projection workers on this SQLite "
                    "store; running these too (they fence each other)"
                )
            self.worker.start()
            return
        assert self.elector is not None
        self.relay.start()
        self.elector.start()
        deadline = time.monotonic() + FIRST_ROUND_TIMEOUT
        self.relay.connected.wait(FIRST_ROUND_TIMEOUT)
        self.elector.first_round.wait(max(deadline - time.monotonic(), 0.0))

    def stop(self) -> None:
        """Stop every worker after its batch in flight; release the locks."""
        if self.relay is None:
            self.worker.stop()
            if self.file_lock is not None:
                self.file_lock.release()
            return
        if self.elector is not None:
            self.elector.stop()
        self.relay.stop()

    def wait_for(
        self,
        position: int,
        timeout: float = 10.0,
        names: Collection[str] | None = None,
    ) -> None:
        """Block until ``names`` (every read model) include ``position``, or raise."""
        if self.relay is None:
            self.worker.wait_for(position, timeout, names)
            return
        behind = self.positions.wait_for(position, timeout, names)
        if behind is None:
            return
        error = self.positions.errors.get(behind)
        if error:
            raise ProjectionFailed(f"projection {behind} failed: {error}")
        raise TimeoutError(
            f"projection {behind} did not reach position {position} within "
            f"{timeout}s (at {self.positions.get(behind)})"
        )

    def states(self) -> dict[str, str]:
        """Each read model's state, without touching a database."""
        return {name: self._state(name) for name in self.names}

    @property
    def leading(self) -> bool:
        """Whether this process runs the worker (always, without election)."""
        return self.elector is None or self.elector.leader

    def _state(self, name: str) -> str:
        if self.leading:
            return self.worker.state_of(name)
        if self.positions.errors.get(name):
            return "failed"
        # Another instance runs it; this one follows its commits.
        return "standby" if self.relay and self.relay.connected.is_set() else "offline"

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position, the head of the log, and its state."""
        head = head_position(self.app)
        local = self.leading
        return [
            ProjectionStatus(
                name=name,
                position=(
                    self.worker.positions[name] if local else self.positions.get(name)
                ),
                head=head,
                state=self._state(name),
                error=(
                    self.worker.errors.get(name) or self.worker.error
                    if local
                    else self.positions.errors.get(name)
                ),
            )
            for name in self.names
        ]
