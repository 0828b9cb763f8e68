"""The change-feed outbox: deltas a projection committed, for every instance.

On PostgreSQL only one instance runs each projection worker. It writes the
deltas of each batch into ``change_feed_outbox`` in the batch's own transaction
and announces the new position with ``pg_notify`` (delivered at commit). Every
instance listens and pushes those rows to its own browsers and streams, so a
delta is pushed only once the read model holds it, with the exact content the
worker computed (ranks, owner names, the owner of a deleted item).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)

from itemhub.projections.deltas import (
    ActivityAdded,
    Delta,
    ItemChanged,
    ItemRemoved,
    UserChanged,
)
from itemhub.readstore.outbox_table import metadata, outbox

CHANNEL = "itemhub_projected"
# Long enough for an instance to reconnect after a database restart and read
# what it missed; short enough that the table stays a few thousand rows.
RETENTION = dt.timedelta(minutes=10)

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "item.changed": TypeAdapter(ItemChanged),
    "item.removed": TypeAdapter(ItemRemoved),
    "user.changed": TypeAdapter(UserChanged),
    "activity.added": TypeAdapter(ActivityAdded),
}
_ROWS: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])


def encode(deltas: Sequence[Delta]) -> str:
    """Deltas as JSON (each carries its ``kind``)."""
    return _ROWS.dump_json(
        [_ADAPTERS[d.kind].dump_python(d, mode="json") for d in deltas]
    ).decode()


def decode(payload: str) -> list[Delta]:
    """The deltas of one outbox row."""
    return [
        _ADAPTERS[row["kind"]].validate_python(row)
        for row in _ROWS.validate_json(payload)
    ]


def create_outbox(conn: Connection) -> None:
    """Create the outbox table if it is missing."""
    metadata.create_all(conn)


def record(
    conn: Connection, position: int, deltas: Mapping[str, Sequence[Delta]]
) -> None:
    """In the worker's transaction: store a batch's deltas and announce it once."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "projection": projection,
            "position": position,
            "payload": encode(found),
            "created_at": now,
        }
        for projection, found in deltas.items()
        if found
    ]
    if rows:
        conn.execute(insert(outbox), rows)
    conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": f"{','.join(deltas)}:{position}"},
    )


def prune(conn: Connection, projection: str) -> None:
    """Drop a projection's rows older than the retention window."""
    cutoff = dt.datetime.now(dt.UTC) - RETENTION
    conn.execute(
        delete(outbox).where(
            outbox.c.projection == projection, outbox.c.created_at < cutoff
        )
    )


def parse_notice(payload: str) -> list[tuple[str, int]]:
    """``"items,users:42"`` → ``[("items", 42), ("users", 42)]``; [] for junk."""
    names, _, position = payload.rpartition(":")
    if not names or not position.isdigit():
        return []
    return [(name, int(position)) for name in names.split(",") if name]


def newest_positions(conn: Connection) -> dict[str, int]:
    """The newest outbox position of each projection."""
    rows = conn.execute(
        select(outbox.c.projection, func.max(outbox.c.position)).group_by(
            outbox.c.projection
        )
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}


def rows_after(
    conn: Connection, cursors: dict[str, int]
) -> list[tuple[str, int, list[Delta]]]:
    """Outbox rows after each projection's cursor, in log order (one query)."""
    if not cursors:
        return []
    after = or_(
        *(
            and_(outbox.c.projection == projection, outbox.c.position > cursor)
            for projection, cursor in cursors.items()
        )
    )
    # Log order; within a position, the order the cursors (the registry) name.
    rank = {projection: n for n, projection in enumerate(cursors)}
    rows = sorted(
        conn.execute(
            select(outbox.c.projection, outbox.c.position, outbox.c.payload).where(
                after
            )
        ).all(),
        key=lambda row: (row.position, rank[row.projection]),
    )
    return [(row.projection, row.position, decode(row.payload)) for row in rows]
