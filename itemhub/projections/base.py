"""What every projection implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Table, delete

from itemhub.eventstore import EventAt
from itemhub.projections.deltas import Delta
from itemhub.readstore.schema import ReadTables

"""A domain event and its position in the log."""


class Projection(ABC):
    """Folds batches of events into read-model rows, inside the caller's transaction.

    Implementations must be deterministic: replaying the same events into empty
    tables must give exactly the same rows.
    """

    name: ClassVar[str]
    # Whether its deltas reach browsers and streams (the chain's do not).
    feeds: ClassVar[bool] = True
    # The event classes (and their subclasses) it folds; None: every event.
    # A rebuild of it alone reads only these from the log.
    reads: ClassVar[tuple[type, ...] | None] = None

    def __init__(self, tables: ReadTables) -> None:
        self.tables = tables

    @property
    def owned(self) -> list[Table]:
        """The tables this projection writes."""
        return self.tables.of(self.name)

    def load(self, conn: Connection) -> None:
        """Load in-memory state from the tables (called before the first batch)."""
        del conn

    def clear(self, conn: Connection) -> None:
        """Empty the owned tables and in-memory state."""
        for table in self.owned:
            conn.execute(delete(table))
        self.load(conn)

    @abstractmethod
    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Apply a batch of events; return the deltas to publish after commit."""

    @classmethod
    def topics(cls) -> tuple[str, ...] | None:
        """The topics of the events it folds (None: every event)."""
        if cls.reads is None:
            return None
        found: set[str] = set()
        classes = list(cls.reads)
        while classes:
            event_class = classes.pop()
            found.add(get_topic(event_class))
            classes += event_class.__subclasses__()
        return tuple(sorted(found))

    def replay(self, conn: Connection, events: Sequence[EventAt]) -> None:
        """Apply a batch during a rebuild, where nobody reads the deltas."""
        self.apply(conn, events)

    def finish(self, conn: Connection) -> None:
        """Write what ``replay`` kept in memory (after the last batch of a run)."""
        del conn
