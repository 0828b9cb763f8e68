"""Tamper evidence: a hash chain over the event log, kept by a projection.

Each link is sha256(previous link + the event's canonical form), where the
canonical form covers the position, the event type, its payload and metadata.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, insert, select

from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.deltas import Delta
from itemhub.readstore.bulk import bulk_insert

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")


def link(previous: str, event: Any, position: int) -> str:
    """The chain link of an event at a position."""
    # The event's own UUIDs and times as _default would give them, converted
    # here: the encoder calling back into Python for each one cost more than
    # the rest of the encoding (bench.rebuild_1m profile). Nested ones still
    # go through _default; the text is the same either way.
    fields = {
        k: str(v) if type(v) is UUID else v.isoformat() if type(v) is dt.datetime else v
        for k, v in vars(event).items()
    }
    canonical = json.dumps(
        {"position": position, "topic": get_topic(type(event)), "event": fields},
        default=_default,
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


class ChainProjection(Projection):
    """Keeps ``event_chain``: one link per event of the log."""

    name = "chain"
    feeds = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last = GENESIS

    def load(self, conn: Connection) -> None:
        """Continue from the newest link."""
        t = self.tables.chain
        found = conn.execute(
            select(t.c.link).order_by(t.c.position.desc()).limit(1)
        ).scalar()
        self.last = found or GENESIS

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Append a link per event."""
        rows = self._links(events)
        if rows:
            conn.execute(insert(self.tables.chain), rows)
        return []

    def replay(self, conn: Connection, events: Sequence[EventAt]) -> None:
        """Append the links in bulk."""
        bulk_insert(conn, self.tables.chain, self._links(events))

    def _links(self, events: Sequence[EventAt]) -> list[dict[str, Any]]:
        rows = []
        for event, position in events:
            self.last = link(self.last, event, position)
            rows.append({"position": position, "link": self.last})
        return rows
