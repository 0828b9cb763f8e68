"""Issue 14's table: every write-path figure measured in one run, beside the
figures the issue started from.

    .venv/bin/python -m bench.write_path [--quick] [--skip NAME ...]

Each row comes from the benchmark that measures it (run here, in this process
or as a subprocess): ``bench.versus_crud``, ``bench.commands`` (part a of
``bench.run``), ``bench.read_models``, ``bench.fanout``, ``bench.rebuild``,
``bench.rebuild_1m`` and ``bench.cluster``. A full run takes about 20 minutes
on the 2-core machine; ``--quick`` runs each at a smoke size (its figures
are not comparable with the targets).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import cluster, read_models, rebuild_1m, versus_crud
from bench.backends import Backend
from bench.commands import measure_commands
from bench.latency import percentile
from bench.rebuild import measure_rebuild

console = Console(width=200)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    figure: str
    before: str  # what the issue measured before the work
    now: str
    target: str
    met: bool | None  # None: not measured in this run


Measure = Callable[[bool], list[Row]]


def crud(quick: bool) -> list[Row]:
    """Create and list-50 against the plain CRUD app (bench.versus_crud)."""
    plan = versus_crud.QUICK if quick else versus_crud.FULL
    figures = versus_crud.measure("postgres", plan)
    create, listing = figures["create"], figures["list-50"]
    create_ratio = create["itemhub"].rate / create["crud"].rate
    list_ratio = listing["itemhub"].rate / listing["crud"].rate
    p99, crud_p99 = create["itemhub"].p99_ms, create["crud"].p99_ms
    return [
        Row(
            "create req/s, ItemHub ÷ plain CRUD, PostgreSQL, 16 connections "
            "(p99 ItemHub / CRUD)",
            "~0.3 (747 / 281 ms)",
            f"{create_ratio:.2f} ({p99:.0f} / {crud_p99:.0f} ms)",
            "≥ 1.0, p99 no worse",
            create_ratio >= 1.0 and p99 <= crud_p99,
        ),
        Row(
            "list-50 req/s, ItemHub ÷ the same baseline",
            "~1.3",
            f"{list_ratio:.2f}",
            "≥ 1.5",
            list_ratio >= 1.5,
        ),
    ]


def read_your_writes(quick: bool) -> list[Row]:
    """Single-client commands with read-your-writes against raw saves (part a)."""
    ops, ryw_ops = (300, 150) if quick else (3000, 1500)
    ratios = {
        backend: measure_commands(backend, ops, ryw_ops, log=_quiet).ryw_ratio
        for backend in ("sqlite", "postgres")
    }
    return [
        Row(
            "single-client commands/s with read-your-writes ÷ raw app.save()",
            "0.09 SQLite / 0.22 PG",
            f"{ratios['sqlite']:.2f} SQLite / {ratios['postgres']:.2f} PG",
            "≥ 0.5",
            min(ratios.values()) >= 0.5,
        )
    ]


def eight_read_models(quick: bool) -> list[Row]:
    """Write throughput with 4 trivial read models added (bench.read_models)."""
    seconds, rounds = (3.0, 1) if quick else (10.0, 2)
    four, eight = read_models.four_and_eight("postgres", seconds, rounds, _quiet)
    return [
        Row(
            "write throughput with 8 read models ÷ with 4",
            "-",
            f"{eight / four:.2f} ({eight:.0f} / {four:.0f} per s)",
            "≥ 0.9",
            eight / four >= 0.9,
        )
    ]


def fan_out(quick: bool) -> list[Row]:
    """p99 and server CPU at 200 and 1,000 board tabs (bench.fanout)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fanout.json"
        rounds = "5" if quick else "20"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.fanout",
                "--clients",
                "200,1000",
                "--rounds",
                rounds,
                "--no-write",
                "--json",
                str(out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stages = {s["clients"]: s for s in json.loads(out.read_text())["stages"]}
    p99 = {n: percentile(stages[n]["latency_ms"], 99) for n in (200, 1000)}
    small, big = stages[200], stages[1000]
    per_tab = (big["server_cpu_ms"] - small["server_cpu_ms"]) / 800
    return [
        Row(
            "fan-out p99, 200 / 1,000 board tabs, one process",
            "93 / 434 ms",
            f"{p99[200]:.0f} / {p99[1000]:.0f} ms",
            "≤ 50 / ≤ 150 ms",
            p99[200] <= 50 and p99[1000] <= 150,
        ),
        Row(
            "server CPU per change per tab (growth from 200 to 1,000 tabs)",
            "~0.7 ms",
            f"{per_tab:.2f} ms",
            "≤ 0.1 ms",
            per_tab <= 0.1,
        ),
    ]


def rebuild_rates(quick: bool) -> list[Row]:
    """Each read model rebuilt alone from 100k events (bench.rebuild)."""
    items, top = (1000, 250) if quick else (10_000, 2_500)
    rows = []
    backends: tuple[tuple[Backend, int], ...] = (
        ("sqlite", 50_000),
        ("postgres", 30_000),
    )
    for backend, target in backends:
        figures = measure_rebuild(backend, items, 10, top, log=_quiet)
        spread = [f for f in figures if f.moves == "spread"]
        (top_figure,) = [f for f in figures if f.moves == "top"]
        slowest = min(spread, key=lambda f: f.rate)
        rates = ", ".join(f"{f.projection} {f.rate / 1000:.0f}k" for f in spread)
        rows += [
            Row(
                f"rebuild, every projection, 100k events, {backend} (events/s)",
                "15-67k SQLite" if backend == "sqlite" else "11-53k PG",
                rates,
                f"≥ {target // 1000}k",
                slowest.rate >= target,
            ),
            Row(
                f"rebuild when every move drops near the top of a column, {backend}",
                "11k" if backend == "sqlite" else "3.8k",
                f"{top_figure.rate / 1000:.1f}k",
                "≥ 25k",
                top_figure.rate >= 25_000,
            ),
        ]
    return rows


def full_rebuild(quick: bool) -> list[Row]:
    """``itemhub rebuild`` of a 1M-event log on PostgreSQL (bench.rebuild_1m)."""
    items = 10_000 if quick else 100_000
    head, seconds, peak, _ = rebuild_1m.measure("postgres", items, _quiet)
    return [
        Row(
            f"full rebuild of {head / 1e6:.1f}M events, all read models, PostgreSQL",
            "not measured",
            f"{seconds:.0f} s, peak RSS {peak:.0f} MiB",
            "≤ 60 s, ≤ 500 MiB",
            seconds <= 60 and peak <= 500,
        )
    ]


def two_instances(quick: bool) -> list[Row]:
    """Writes per second of two instances against one (bench.cluster)."""
    args = argparse.Namespace(
        seconds=3.0 if quick else 20.0,
        clients=16,
        streams=4 if quick else 50,
        commands=10 if quick else 100,
    )
    one, two = (cluster.run_layout(n, args, console) for n in (1, 2))
    ratio = two.write_rps / one.write_rps
    return [
        Row(
            "two instances ÷ one, writes/s",
            "1.7",
            f"{ratio:.2f} ({two.write_rps:.0f} / {one.write_rps:.0f})",
            "≥ 1.8",
            ratio >= 1.8,
        )
    ]


MEASURES: dict[str, Measure] = {
    "crud": crud,
    "ryw": read_your_writes,
    "read-models": eight_read_models,
    "fanout": fan_out,
    "rebuild": rebuild_rates,
    "rebuild-1m": full_rebuild,
    "cluster": two_instances,
}


def _quiet(message: str) -> None:
    """Progress lines of the benchmarks run here are not printed."""
    del message


def main(argv: list[str] | None = None) -> None:
    """Measure every figure (or all but ``--skip``) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.write_path")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(MEASURES))
    args = parser.parse_args(argv)
    start_load = os.getloadavg()[0]
    rows: list[Row] = []
    for name, measure in MEASURES.items():
        if name in args.skip:
            continue
        console.print(f"measuring {name} ...", highlight=False)
        rows += measure(args.quick)
    table = Table(title="Issue 14: the write path" + (" (quick)" if args.quick else ""))
    for column in ("figure", "before (issue)", "now", "target", "met"):
        table.add_column(column)
    for row in rows:
        met = "-" if row.met is None else ("met" if row.met else "NOT met")
        table.add_row(row.figure, row.before, row.now, row.target, met)
    console.print(table)
    console.print(
        f"load average {start_load:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
        f"{os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
