"""Write throughput with 8 read models against 4: what each new read model costs.

    .venv/bin/python -m bench.read_models [--quick] [--backend sqlite|postgres]

Four trivial read models (one row per event each, written by the same worker
in the same transaction as the real four) are registered next to items, users,
activity and chain. Each configuration gets a fresh database and hub; 4
threads send MoveItem commands with read-your-writes on for a fixed time, in
alternating rounds (4, 8, 8, 4, ...). Target: 8 ÷ 4 >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)

from bench.backends import Backend, fresh_database, opened_hub, register_user
from bench.commands import MoveWorkload
from itemhub.commands import CreateItem
from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.deltas import Delta
from itemhub.projections.registry import PROJECTIONS
from itemhub.readstore.schema import ReadTables

EXTRA = 4
THREADS = 4
ITEMS = 200
TARGET = 0.9

_metadata = MetaData()
_TABLES = {
    f"bench_trivial_{n}": Table(
        f"bench_trivial_{n}",
        _metadata,
        Column("position", Integer, primary_key=True),
        Column("topic", String(200), nullable=False),
    )
    for n in range(EXTRA)
}


class Trivial(Projection):
    """One row per event: about the least a read model can do."""

    feeds: ClassVar[bool] = False

    @property
    def owned(self) -> list[Table]:
        """Its one table (outside the real schema)."""
        return [_TABLES[self.name]]

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Insert a row per event."""
        rows = [{"position": p, "topic": type(e).__name__} for e, p in events]
        if rows:
            conn.execute(insert(_TABLES[self.name]), rows)
        return []


_EXTRAS: dict[str, type[Projection]] = {
    name: type(f"Trivial{n}", (Trivial,), {"name": name})
    for n, name in enumerate(_TABLES)
}


@contextmanager
def registered(extra: bool) -> Iterator[None]:
    """The registry with the four trivial read models added, for this block."""
    original_of = ReadTables.of

    def of(self: ReadTables, projection: str) -> list[Table]:
        table = _TABLES.get(projection)
        return [table] if table is not None else original_of(self, projection)

    if extra:
        PROJECTIONS.update(_EXTRAS)
        ReadTables.of = of  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in _EXTRAS:
            PROJECTIONS.pop(name, None)
        ReadTables.of = original_of  # type: ignore[method-assign]


def commands_per_second(backend: Backend, extra: bool, seconds: float) -> float:
    """MoveItem commands/s from THREADS threads, read-your-writes on."""
    with registered(extra), fresh_database(backend) as url:
        if extra:
            engine = create_engine(url)
            _metadata.create_all(engine)
            engine.dispose()
        with opened_hub(url) as hub:
            context = register_user(hub, "bench-user@example.com")
            ids = [
                hub.bus.handle(
                    CreateItem(title=f"c{n}", column="Todo"), context
                ).aggregate_id
                for n in range(ITEMS)
            ]
            hub.start()
            hub.wait_for(hub.head())
            assert len(hub.read_side.worker.projections) == 4 + EXTRA * extra
            done = [0] * THREADS
            stop_at = time.perf_counter() + seconds

            def drive(slot: int) -> None:
                work = MoveWorkload(hub, context, ids[slot::THREADS])
                while time.perf_counter() < stop_at:
                    work.bus(10)
                    done[slot] += 10

            threads = [
                threading.Thread(target=drive, args=(n,)) for n in range(THREADS)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return sum(done) / (time.perf_counter() - started)


def four_and_eight(
    backend: Backend,
    seconds: float,
    rounds: int,
    log: Callable[[str], None] = print,
) -> tuple[float, float]:
    """Mean commands/s with 4 and with 8 read models, in alternating rounds."""
    rates: dict[bool, list[float]] = {False: [], True: []}
    for n in range(rounds):
        for extra in (False, True) if n % 2 == 0 else (True, False):
            rate = commands_per_second(backend, extra, seconds)
            rates[extra].append(rate)
            log(f"  {backend}: {4 + EXTRA * extra} read models {rate:,.0f}/s")
    four, eight = (sum(r) / len(r) for r in (rates[False], rates[True]))
    return four, eight


def main(argv: list[str] | None = None) -> None:
    """Alternate 4 and 8 read models; print each round and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.read_models")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    args = parser.parse_args(argv)
    seconds, rounds = (3.0, 1) if args.quick else (10.0, 2)
    load = os.getloadavg()[0]
    four, eight = four_and_eight(args.backend, seconds, rounds, print)
    ratio = eight / four
    verdict = "met" if ratio >= TARGET else "not met"
    print(
        f"{args.backend}, {THREADS} threads, read-your-writes on: 4 read models "
        f"{four:,.0f}/s, 8 read models {eight:,.0f}/s, ratio {ratio:.2f} "
        f"(target >= {TARGET}: {verdict}); load {load:.2f} -> {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
