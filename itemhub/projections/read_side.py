"""All projection workers of one process, and waiting on them."""

from __future__ import annotations

import time

from itemhub.commands.application import ItemHub, head_position
from itemhub.projections.dto import ProjectionStatus
from itemhub.projections.feed import ChangeFeed
from itemhub.projections.registry import PROJECTIONS
from itemhub.projections.store import ReadStore
from itemhub.projections.worker import ProjectionWorker


class ReadSide:
    """Starts, stops and waits on one worker per read model."""

    def __init__(self, app: ItemHub, store: ReadStore, feed: ChangeFeed | None) -> None:
        self.app = app
        self.store = store
        self.workers = {
            name: ProjectionWorker(
                app=app, store=store, projection=cls(store.tables), feed=feed
            )
            for name, cls in PROJECTIONS.items()
        }

    def start(self) -> None:
        """Start every worker."""
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop every worker after its batch in flight."""
        for worker in self.workers.values():
            worker.stop()

    def wait_for(self, position: int, timeout: float = 10.0) -> None:
        """Block until every read model includes ``position`` (raises otherwise)."""
        deadline = time.monotonic() + timeout
        for worker in self.workers.values():
            worker.wait_for(position, max(deadline - time.monotonic(), 0.0))

    def states(self) -> dict[str, str]:
        """Each worker's state, without touching a database."""
        return {name: worker.state for name, worker in self.workers.items()}

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position, the head of the log, and its state."""
        head = head_position(self.app)
        return [
            ProjectionStatus(
                name=name,
                position=worker.position,
                head=head,
                state=worker.state,
                error=worker.error,
            )
            for name, worker in self.workers.items()
        ]
