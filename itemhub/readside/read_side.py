"""All projection workers of one process, and waiting on them.

SQLite (one instance): this process runs every worker and feeds its own change
feed. PostgreSQL (one or several instances): an elector per projection runs
the worker only while it holds that projection's advisory lock, and the outbox
relay gives every instance the committed positions and deltas, whichever
instance runs the workers.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from itemhub.eventstore import ItemHub, head_position
from itemhub.projections.dto import ProjectionStatus
from itemhub.projections.registry import PROJECTIONS, feeds
from itemhub.readside.election import Elector
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
        self.workers = {
            name: ProjectionWorker(
                app=app,
                store=store,
                projection=cls(store.tables),
                feed=feed,
                use_outbox=self.clustered,
                # Clustered, the relay moves the positions once it has pushed
                # the batch's deltas, on the leader's instance as on the others.
                on_commit=None if self.clustered else self.positions.advance,
            )
            for name, cls in PROJECTIONS.items()
        }
        self.file_lock = FileLock(lock_file) if lock_file is not None else None
        self.electors: dict[str, Elector] = {}
        self.relay: OutboxRelay | None = None
        if conninfo is not None:
            self.electors = {
                name: Elector(conninfo, worker) for name, worker in self.workers.items()
            }
            self.relay = OutboxRelay(
                conninfo=conninfo,
                store=store,
                feed=feed,
                positions=self.positions,
                feeds=[name for name in feeds() if name in self.workers],
            )

    def start(self) -> None:
        """Start every worker, or compete for each projection's lock."""
        if self.relay is None:
            if self.file_lock is not None and not self.file_lock.acquire():
                log.warning(
                    "another process runs projection workers on this SQLite "
                    "store; running these too (they fence each other)"
                )
            for worker in self.workers.values():
                worker.start()
            return
        self.relay.start()
        for elector in self.electors.values():
            elector.start()
        deadline = time.monotonic() + FIRST_ROUND_TIMEOUT
        self.relay.connected.wait(FIRST_ROUND_TIMEOUT)
        for elector in self.electors.values():
            elector.first_round.wait(max(deadline - time.monotonic(), 0.0))

    def stop(self) -> None:
        """Stop every worker after its batch in flight; release the locks."""
        if self.relay is None:
            for worker in self.workers.values():
                worker.stop()
            if self.file_lock is not None:
                self.file_lock.release()
            return
        for elector in self.electors.values():
            elector.stop()
        self.relay.stop()

    def wait_for(self, position: int, timeout: float = 10.0) -> None:
        """Block until every read model includes ``position`` (raises otherwise)."""
        if self.relay is None:
            deadline = time.monotonic() + timeout
            for worker in self.workers.values():
                worker.wait_for(position, max(deadline - time.monotonic(), 0.0))
            return
        behind = self.positions.wait_for(position, timeout)
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
        """Each worker's state, without touching a database."""
        return {name: self._state(name) for name in self.workers}

    def _state(self, name: str) -> str:
        worker = self.workers[name]
        elector = self.electors.get(name)
        if elector is None or elector.leader:
            return worker.state
        if self.positions.errors.get(name):
            return "failed"
        # Another instance runs it; this one follows its commits.
        return "standby" if self.relay and self.relay.connected.is_set() else "offline"

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position, the head of the log, and its state."""
        head = head_position(self.app)
        statuses = []
        for name, worker in self.workers.items():
            elector = self.electors.get(name)
            local = elector is None or elector.leader
            statuses.append(
                ProjectionStatus(
                    name=name,
                    position=worker.position if local else self.positions.get(name),
                    head=head,
                    state=self._state(name),
                    error=worker.error if local else self.positions.errors.get(name),
                )
            )
        return statuses
