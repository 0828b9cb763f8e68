"""Audit and time-travel figures on a log of ~100k events (`python -m bench.audit`).

Measures, on SQLite and PostgreSQL: the first filtered page of the audit API's
query, an export of every event (streamed CSV, fully consumed), and the board
as of an arbitrary past moment, both before any checkpoint exists (a fold from
position 1: only until the background checkpointer's first run after a first
start) and with the checkpoints the checkpointer keeps up to the head, which is
what a running hub serves. Targets: <= 200 ms, <= 5 s and <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid5

from rich.console import Console
from rich.table import Table

from bench.backends import BACKENDS, Backend, fresh_database, opened_hub
from bench.rebuild import populate
from itemhub.events import NAMESPACE
from itemhub.queries.audit import AuditFilter
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.export import stream_csv, stream_json
from itemhub.queries.history import board_as_of
from itemhub.readside.checkpointer import Checkpointer

TARGETS = {
    "first page": 0.2,
    "export all (csv)": 5.0,
    "board as of (checkpoints)": 1.0,
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One timed operation (median of a few runs)."""

    backend: Backend
    what: str
    seconds: float
    detail: str


def _median(runs: int, fn: Callable[[], str]) -> tuple[float, str]:
    times, detail = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        detail = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), detail


def measure(backend: Backend, items: int, runs: int) -> list[Figure]:
    """Populate, project, then time the three audit operations."""
    with fresh_database(backend) as url, opened_hub(url) as hub:
        head = populate(hub.app, items, 10, "spread")
        hub.catch_up()
        figures: list[Figure] = []
        actor = uuid5(NAMESPACE, "bench-user:3")

        moved_by_actor = AuditFilter(actor_id=actor, action="item.moved")

        def first_page() -> str:
            page = hub.audit.page(moved_by_actor, 50)
            return f"{len(page.data)} rows (filter: one actor's moves)"

        def export_all() -> str:
            size = sum(
                len(chunk) for chunk in stream_csv(hub.audit.export_rows(AuditFilter()))
            )
            return f"{head} events, {size / 1e6:.1f} MB CSV"

        def export_json() -> str:
            size = sum(
                len(c) for c in stream_json(hub.audit.export_rows(AuditFilter()))
            )
            return f"{size / 1e6:.1f} MB JSON"

        entries = hub.read.activity(limit=1)
        newest = entries[0].occurred_at if entries else dt.datetime.now(dt.UTC)
        oldest = hub.read.activity_since(0, limit=1)[0].occurred_at
        moment = oldest + (newest - oldest) * 0.7
        checkpoints = BoardCheckpoints(hub.store)
        columns = hub.settings.board_columns

        def board_at(when: dt.datetime) -> str:
            position = hub.audit.position_at(when)
            board = board_as_of(hub.app, position, columns, checkpoints=checkpoints)
            cards = sum(len(c) for c in board.columns.values())
            return f"position {position} of {head}, {cards} cards"

        def board_cold() -> str:
            # No checkpoint yet: folds from position 1 and stores checkpoints
            # on the way (what the first time travel after a long pause costs).
            checkpoints.clear()
            return board_at(moment) + ", from position 1"

        for what, fn, n in (
            ("first page", first_page, runs * 3),
            ("export all (csv)", export_all, runs),
            ("export all (json)", export_json, runs),
            ("board as of (no checkpoints)", board_cold, runs),
        ):
            seconds, detail = _median(n, fn)
            figures.append(Figure(backend, what, seconds, detail))

        # What a running hub has: the background checkpointer's checkpoints up
        # to the head (its catch-up from nothing is timed too), then moments
        # spread at random over the whole log.
        checkpoints.clear()
        started = time.perf_counter()
        Checkpointer(hub.app, checkpoints).run_once()
        figures.append(
            Figure(
                backend,
                "checkpointer catch-up (background)",
                time.perf_counter() - started,
                f"from nothing to position {head}, off the request path",
            )
        )
        rng = random.Random(20251125)
        times = []
        for _ in range(runs * 3):
            when = oldest + (newest - oldest) * rng.random()
            started = time.perf_counter()
            board_at(when)
            times.append(time.perf_counter() - started)
        stored = len(checkpoints.positions())
        figures.append(
            Figure(
                backend,
                "board as of (checkpoints)",
                statistics.median(times),
                f"{len(times)} random moments, max {max(times) * 1000:,.0f} ms, "
                f"{stored} checkpoints",
            )
        )
        return figures


def main(argv: list[str] | None = None) -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k events, 1 run")
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    args = parser.parse_args(argv)
    items, runs = (1_000, 1) if args.quick else (10_000, 3)
    console = Console()
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    table = Table(title=f"Audit and time travel on {items * 10:,} events")
    for column in ("backend", "operation", "median", "target", "ok", "detail"):
        table.add_column(column)
    for backend in backends:
        console.print(f"populating {items * 10:,} events on {backend}…")
        for f in measure(backend, items, runs):
            target = TARGETS.get(f.what)
            ok = "" if target is None else ("yes" if f.seconds <= target else "NO")
            table.add_row(
                f.backend,
                f.what,
                f"{f.seconds * 1000:,.0f} ms",
                "" if target is None else f"<= {target * 1000:,.0f} ms",
                ok,
                f.detail,
            )
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
