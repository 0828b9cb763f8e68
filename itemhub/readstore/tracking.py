"""Tracking rows: where each projection stands, moved compare-and-set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, insert, or_, select, update

from itemhub.readstore.schema import ReadTables

if TYPE_CHECKING:
    from itemhub.readstore.store import ReadStore


class Fenced(Exception):
    """The tracking row moved under a worker: another writer owns this read model."""


@dataclass(frozen=True, slots=True)
class TrackingState:
    """Where a projection stands."""

    position: int
    epoch: int
    error: str | None


def ensure_tracking_rows(
    conn: Connection, tables: ReadTables, names: Iterable[str]
) -> None:
    """Insert a zero tracking row for each projection that has none."""
    t = tables.tracking
    existing = set(conn.execute(select(t.c.name)).scalars())
    rows = [
        {"name": n, "position": 0, "epoch": 0, "error": None, "updated_at": None}
        for n in names
        if n not in existing
    ]
    if rows:
        conn.execute(insert(t), rows)


def read_tracking(conn: Connection, tables: ReadTables, name: str) -> TrackingState:
    """Read a tracking row (position 0 if none)."""
    t = tables.tracking
    row = conn.execute(
        select(t.c.position, t.c.epoch, t.c.error).where(t.c.name == name)
    ).first()
    if row is None:
        return TrackingState(position=0, epoch=0, error=None)
    return TrackingState(position=row.position, epoch=row.epoch, error=row.error)


def advance_tracking(
    conn: Connection,
    tables: ReadTables,
    name: str,
    old: TrackingState,
    new_position: int,
) -> TrackingState:
    """Compare-and-set the tracking row in the caller's transaction, or raise Fenced."""
    return advance_all(conn, tables, {name: old}, new_position)[name]


def advance_all(
    conn: Connection,
    tables: ReadTables,
    olds: Mapping[str, TrackingState],
    new_position: int,
) -> dict[str, TrackingState]:
    """Compare-and-set several tracking rows in one statement, or raise Fenced."""
    if not olds:
        return {}
    t = tables.tracking
    unchanged = or_(
        *(
            and_(t.c.name == name, t.c.position == old.position, t.c.epoch == old.epoch)
            for name, old in olds.items()
        )
    )
    moved = set(
        conn.execute(
            update(t)
            .where(unchanged)
            .values(position=new_position, error=None, updated_at=_now())
            .returning(t.c.name)
        ).scalars()
    )
    for name, old in olds.items():
        if name not in moved:
            raise Fenced(f"tracking of {name!r} moved away from {old.position}")
    return {
        name: TrackingState(position=new_position, epoch=old.epoch, error=None)
        for name, old in olds.items()
    }


def record_failure(store: ReadStore, name: str, error: str) -> None:
    """Write a worker's failure into its tracking row (best effort)."""
    t = store.tables.tracking
    with store.writer.begin() as conn:
        conn.execute(
            update(t).where(t.c.name == name).values(error=error, updated_at=_now())
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
