"""Tamper evidence: a hash chain over the event log, kept by a projection.

Each link is sha256(previous link + the event's canonical form), where the
canonical form covers the position, the event type, its payload and metadata.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, func, insert, select

from itemhub.eventstore import ItemHub
from itemhub.projections.base import EventAt, Projection
from itemhub.projections.deltas import Delta
from itemhub.projections.store import ReadStore

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")


def link(previous: str, event: Any, position: int) -> str:
    """The chain link of an event at a position."""
    canonical = json.dumps(
        {"position": position, "topic": get_topic(type(event)), "event": vars(event)},
        default=_default,
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


class ChainProjection(Projection):
    """Keeps ``event_chain``: one link per event of the log."""

    name = "chain"

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
        rows = []
        for event, position in events:
            self.last = link(self.last, event, position)
            rows.append({"position": position, "link": self.last})
        if rows:
            conn.execute(insert(self.tables.chain), rows)
        return []


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain against the stored events."""

    checked: int
    first_broken: int | None
    reason: str | None

    @property
    def intact(self) -> bool:
        """True when every checked link matches."""
        return self.first_broken is None


def verify_chain(app: ItemHub, store: ReadStore, page: int = 2000) -> ChainReport:
    """Recompute every link from the stored events; name the first broken one."""
    t = store.tables.chain
    previous, checked, after = GENESIS, 0, 0
    while True:
        notifications = app.recorder.select_notifications(
            start=after, limit=page, inclusive_of_start=False
        )
        if not notifications:
            return ChainReport(checked=checked, first_broken=None, reason=None)
        with store.reader.connect() as conn:
            stored = dict(
                conn.execute(
                    select(t.c.position, t.c.link).where(
                        t.c.position > after, t.c.position <= notifications[-1].id
                    )
                ).all()
            )
        with store.reader.connect() as conn:
            chain_head = conn.execute(select(func.max(t.c.position))).scalar() or 0
        for notification in notifications:
            if notification.id not in stored:
                if notification.id < chain_head:
                    return ChainReport(
                        checked=checked,
                        first_broken=notification.id,
                        reason="the chain has no link for this event (deleted?)",
                    )
                # The chain projection has not reached this event yet.
                return ChainReport(checked=checked, first_broken=None, reason=None)
            try:
                event = app.mapper.to_domain_event(notification)
            except Exception as exc:
                return ChainReport(
                    checked=checked,
                    first_broken=notification.id,
                    reason=f"the stored event no longer decodes: {type(exc).__name__}",
                )
            expected = link(previous, event, notification.id)
            if expected != stored[notification.id]:
                return ChainReport(
                    checked=checked,
                    first_broken=notification.id,
                    reason="the stored event differs from the one the chain recorded",
                )
            previous = expected
            checked += 1
        after = notifications[-1].id
