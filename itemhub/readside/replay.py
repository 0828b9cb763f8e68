"""Replaying the log: catch up live tables, rebuild into scratch tables and swap."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from itemhub.eventstore import ItemHub, head_position, iter_batches
from itemhub.projections.base import Projection
from itemhub.projections.registry import PROJECTIONS
from itemhub.readstore.schema import read_tables
from itemhub.readstore.store import ReadStore
from itemhub.readstore.tracking import Fenced, advance_tracking, read_tracking

# Scratch tables need no commit per page: each commit costs a sync to disk.
PAGES_PER_TRANSACTION = 10

Progress = Callable[[int, int], None]
"""Called with (position reached, head of the log)."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did."""

    name: str
    events: int
    position: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else float(self.events)


def catch_up(app: ItemHub, store: ReadStore, name: str) -> int:
    """Bring one live read model up to the head now; returns its position.

    Safe beside a running worker elsewhere: each batch compare-and-sets the
    tracking row, and on a race this starts over from the committed state.
    """
    while True:
        projection = PROJECTIONS[name](store.tables)
        try:
            with store.writer.begin() as conn:
                tracking = read_tracking(conn, store.tables, name)
                projection.load(conn)
            for batch in iter_batches(app, tracking.position):
                with store.writer.begin() as conn:
                    tracking = advance_tracking(
                        conn, store.tables, name, tracking, batch[-1][1]
                    )
                    projection.apply(conn, batch)
            return tracking.position
        except Fenced:
            continue


def replay_into_scratch(
    app: ItemHub,
    store: ReadStore,
    names: Sequence[str],
    suffix: str,
    progress: Progress | None = None,
) -> tuple[list[Projection], int, int]:
    """Replay the whole log into fresh ``<table><suffix>`` tables, in one pass
    for all the named read models (the log is read and decoded once).

    Returns the projections (their ``owned`` tables are the scratch tables,
    their in-memory state is current), the position reached and the events
    read (only those the read models fold).
    """
    scratch = read_tables(suffix)
    projections = [PROJECTIONS[name](scratch) for name in names]
    with store.writer.begin() as conn:
        for projection in projections:
            for table in projection.owned:
                table.drop(conn, checkfirst=True)
                table.create(conn)
            projection.load(conn)
    position, count = _replay(app, projections, 0, store.writer.begin, progress)
    return projections, position, count


def _replay(
    app: ItemHub,
    projections: Sequence[Projection],
    after: int,
    begin: Callable[[], AbstractContextManager[Connection]],
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Replay the log after ``after``; the position covered and the events read.

    Each chunk of pages, and the projections' final writes, run in a
    transaction from ``begin``. Only the events the projections fold are
    read; the position covered is at least the head the replay started from,
    whose other events they do not need.
    """
    head = head_position(app)
    position, count = after, 0
    batches = iter_batches(app, after, topics=_topics(projections))
    while chunk := list(islice(batches, PAGES_PER_TRANSACTION)):
        with begin() as conn:
            for batch in chunk:
                for projection in projections:
                    projection.replay(conn, batch)
                position, count = batch[-1][1], count + len(batch)
        if progress is not None:
            progress(position, max(head, position))
    with begin() as conn:
        for projection in projections:
            projection.finish(conn)
    return max(position, head), count


def rebuild(
    app: ItemHub, store: ReadStore, name: str, progress: Progress | None = None
) -> ReplayResult:
    """Replay ``name`` from zero into fresh tables, then swap them in atomically."""
    return rebuild_together(app, store, [name], progress)


def rebuild_together(
    app: ItemHub,
    store: ReadStore,
    names: Sequence[str],
    progress: Progress | None = None,
) -> ReplayResult:
    """Rebuild several read models from one pass over the log, swapped in at once."""
    started = time.perf_counter()
    projections, position, count = replay_into_scratch(
        app, store, names, "__rebuild", progress
    )
    live = store.tables
    with store.writer.begin() as conn:
        # Lock the live tracking rows first: a live worker's next commit waits,
        # then fails its compare-and-set (epoch changed) and reloads.
        t = live.tracking
        epochs = dict(
            conn.execute(
                select(t.c.name, t.c.epoch)
                .where(t.c.name.in_(names))
                .order_by(t.c.name)
                .with_for_update()
            ).all()
        )
        # Whatever arrived meanwhile.
        position, more = _replay(app, projections, position, lambda: nullcontext(conn))
        count += more
        for name, projection in zip(names, projections, strict=True):
            for source, target in zip(projection.owned, live.of(name), strict=True):
                _copy(conn, source, target)
                source.drop(conn)
            conn.execute(
                update(t)
                .where(t.c.name == name)
                .values(
                    position=position, epoch=(epochs.get(name) or 0) + 1, error=None
                )
            )
    if progress is not None:
        progress(position, position)
    return ReplayResult(
        name=", ".join(names),
        events=count,
        position=position,
        seconds=time.perf_counter() - started,
    )


def _topics(projections: Sequence[Projection]) -> tuple[str, ...]:
    """What to read from the log for these read models (empty: every event)."""
    found: set[str] = set()
    for projection in projections:
        topics = projection.topics()
        if topics is None:
            return ()
        found.update(topics)
    return tuple(sorted(found))


def _copy(conn: Connection, source: Table, target: Table) -> None:
    conn.execute(delete(target))
    names = [c.name for c in target.columns]
    conn.execute(
        insert(target).from_select(names, select(*[source.c[n] for n in names]))
    )


def table_rows(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """Every row of a table in primary-key order (for comparisons)."""
    return [
        tuple(row)
        for row in conn.execute(select(table).order_by(*table.primary_key.columns))
    ]


def differences(
    app: ItemHub, store: ReadStore, name: str, *, limit: int = 20
) -> tuple[int, list[str]]:
    """Replay ``name`` into scratch tables and list how the live tables differ.

    Returns the position replayed to and up to ``limit`` differences; the
    comparison is only meaningful when the live read model is at that position.
    """
    (projection,), position, _ = replay_into_scratch(app, store, [name], "__verify")
    found: list[str] = []
    with store.writer.begin() as conn:
        for replayed, live in zip(projection.owned, store.tables.of(name), strict=True):
            want = {row[0]: row for row in table_rows(conn, replayed)}
            have = {row[0]: row for row in table_rows(conn, live)}
            for key in sorted(want.keys() | have.keys(), key=str):
                if want.get(key) != have.get(key):
                    found.append(
                        f"{live.name} {key}: live={have.get(key)!r} "
                        f"replayed={want.get(key)!r}"
                    )
            replayed.drop(conn)
    return position, found[:limit]
