"""Tracking rows: where each projection stands, moved compare-and-set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update

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
    t = tables.tracking
    moved = conn.execute(
        update(t)
        .where(t.c.name == name, t.c.position == old.position, t.c.epoch == old.epoch)
        .values(position=new_position, error=None, updated_at=_now())
        .returning(t.c.position)
    ).first()
    if moved is None:
        raise Fenced(f"tracking of {name!r} moved away from {old.position}")
    return TrackingState(position=new_position, epoch=old.epoch, error=None)


def record_failure(store: ReadStore, name: str, error: str) -> None:
    """Write a worker's failure into its tracking row (best effort)."""
    t = store.tables.tracking
    with store.writer.begin() as conn:
        conn.execute(
            update(t).where(t.c.name == name).values(error=error, updated_at=_now())
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
