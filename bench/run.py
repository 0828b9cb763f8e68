"""Run the ItemHub benchmarks and print one table per part.

    .venv/bin/python -m bench.run [--quick] [--backend sqlite|postgres|all]

(a) MoveItem commands/s through the bus (read-your-writes off and on) against
raw ``app.save()``; (b) ``rebuild`` events/s per projection; (c) latency from a
command to its ``ItemChanged`` delta on the event loop. Every run uses fresh
databases (a temp dir for SQLite, a temp database on 127.0.0.1 for PostgreSQL)
and removes them afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.backends import BACKENDS, Backend, postgres_version
from bench.commands import RYW_OFF_TARGET, CommandFigures, measure_commands
from bench.latency import LatencyFigures, measure_latency
from bench.rebuild import RebuildFigure, measure_rebuild

console = Console()
if not console.is_terminal:
    # Piped or captured (make, CI): wide enough that no table wraps.
    console = Console(width=120)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each part does."""

    ops: int
    ryw_ops: int
    items: int
    events_per_item: int
    top_items: int
    latency_commands: int
    latency_spacing: float


FULL = Sizes(
    ops=3000,
    ryw_ops=1500,
    items=10_000,
    events_per_item=10,
    top_items=2_500,
    latency_commands=300,
    latency_spacing=0.02,
)
QUICK = Sizes(
    ops=300,
    ryw_ops=150,
    items=1_000,
    events_per_item=10,
    top_items=500,
    latency_commands=50,
    latency_spacing=0.01,
)


def _ok(met: bool) -> str:
    return "[green]met[/green]" if met else "[red]missed[/red]"


def commands_table(figures: list[CommandFigures]) -> Table:
    """Part (a)."""
    table = Table(title="(a) MoveItem: command bus vs raw app.save() (sequential)")
    for column in ("backend", "path", "ops", "ops/s", "ratio to raw", "target"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for f in figures:
        table.add_row(f.backend, "raw app.save()", f"{f.ops:,}", f"{f.raw_rate:,.0f}")
        table.add_row(
            "",
            "bus.handle, RYW off",
            f"{f.ops:,}",
            f"{f.bus_rate:,.0f}",
            f"{f.ratio:.2f}",
            f">= {RYW_OFF_TARGET} {_ok(f.ratio >= RYW_OFF_TARGET)}",
        )
        table.add_row(
            "",
            "bus.handle, RYW on",
            f"{f.ryw_ops:,}",
            f"{f.ryw_rate:,.0f}",
            f"{f.ryw_ratio:.2f}",
            "-",
            end_section=True,
        )
    return table


def rebuild_table(figures: list[RebuildFigure]) -> Table:
    """Part (b)."""
    table = Table(title="(b) rebuild(app, store, name) from zero")
    for column in (
        "backend",
        "projection",
        "moves to",
        "events",
        "seconds",
        "events/s",
        "target",
    ):
        table.add_column(
            column, justify="left" if column in {"projection", "moves to"} else "right"
        )
    previous = ""
    for f in figures:
        table.add_row(
            "" if f.backend == previous else f.backend,
            f.projection,
            "random index" if f.moves == "spread" else "index 0-4 only",
            f"{f.events:,}",
            f"{f.seconds:.2f}",
            f"{f.rate:,.0f}",
            f">= {f.target:,.0f} {_ok(f.rate >= f.target)}",
        )
        previous = f.backend
    return table


def latency_table(figures: list[LatencyFigures]) -> Table:
    """Part (c)."""
    table = Table(
        title="(c) bus.handle(MoveItem) → ItemChanged dispatched on the loop (ms)"
    )
    for column in (
        "backend",
        "commands",
        "feed p50",
        "feed p99",
        "feed max",
        "handle p50",
        "handle p99",
    ):
        table.add_column(column, justify="right")
    for f in figures:
        table.add_row(
            f.backend,
            str(f.commands),
            f"{f.feed(50):.1f}",
            f"{f.feed(99):.1f}",
            f"{max(f.feed_ms):.1f}",
            f"{f.returned(50):.1f}",
            f"{f.returned(99):.1f}",
        )
    return table


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": postgres_version(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smaller smoke run (< 1 minute)"
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres", "all"], default="all"
    )
    parser.add_argument(
        "--part",
        choices=["a", "b", "c"],
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    parser.add_argument(
        "--json", type=Path, help="also write the raw figures to this file"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected parts on the selected backends; print the tables."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    backends: list[Backend] = (
        list(BACKENDS) if args.backend == "all" else [args.backend]
    )
    parts: set[str] = set(args.part or ["a", "b", "c"])
    info = machine()
    console.print(
        f"ItemHub bench ({'quick' if args.quick else 'full'}): "
        f"{info['cores']} cores, Python {info['python']}, "
        f"PostgreSQL {info['postgresql']}, {info['date']}, "
        f"load average {info['load_average']}"
    )

    def log(message: str) -> None:
        console.print(message, highlight=False)

    started = time.perf_counter()
    commands: list[CommandFigures] = []
    rebuilds: list[RebuildFigure] = []
    latencies: list[LatencyFigures] = []
    for backend in backends:
        if "a" in parts:
            log(f"(a) commands on {backend} ...")
            commands.append(measure_commands(backend, sizes.ops, sizes.ryw_ops, log))
        if "b" in parts:
            log(f"(b) rebuild on {backend} ...")
            rebuilds += measure_rebuild(
                backend, sizes.items, sizes.events_per_item, sizes.top_items, log
            )
        if "c" in parts:
            log(f"(c) latency on {backend} ...")
            latencies.append(
                measure_latency(
                    backend, sizes.latency_commands, sizes.latency_spacing, log
                )
            )
    console.print()
    if commands:
        console.print(commands_table(commands))
    if rebuilds:
        console.print(rebuild_table(rebuilds))
    if latencies:
        console.print(latency_table(latencies))
    info["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(
        f"total {time.perf_counter() - started:.0f}s, "
        f"load average now {info['load_average_after']}"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "quick": args.quick,
                    "sizes": asdict(sizes),
                    "commands": [
                        asdict(f) | {"ratio": f.ratio, "ryw_ratio": f.ryw_ratio}
                        for f in commands
                    ],
                    "rebuild": [asdict(f) | {"rate": f.rate} for f in rebuilds],
                    "latency": [
                        {
                            "backend": f.backend,
                            "commands": f.commands,
                            "feed_p50_ms": f.feed(50),
                            "feed_p99_ms": f.feed(99),
                            "handle_p50_ms": f.returned(50),
                            "handle_p99_ms": f.returned(99),
                        }
                        for f in latencies
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
