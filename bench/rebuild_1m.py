"""A full rebuild of every read model from a 1M-event log, as an operator runs it.

    .venv/bin/python -m bench.rebuild_1m [--items 100000] [--backend postgres]

Writes ``items`` items x 10 events (with 10 users) into a fresh database with
the domain model, then runs ``itemhub rebuild`` (every read model, one pass
over the log) in its own process, and reports its wall time and that process's
peak RSS. Targets (issue 14): at most 60 s and 500 MiB on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from bench.backends import Backend, fresh_database, opened_hub
from bench.rebuild import populate

SECONDS_TARGET = 60.0
RSS_TARGET_MIB = 500.0


def rebuild_in_a_process(database_url: str) -> tuple[float, float, str]:
    """Run ``itemhub rebuild``; its seconds, peak RSS (MiB) and last line."""
    env = {
        **os.environ,
        "ITEMHUB_DATABASE_URL": database_url,
        "ITEMHUB_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "itemhub", "rebuild"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # This child's own usage: other children of this process (servers of
        # other benchmarks) must not count.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if child.returncode:
        raise RuntimeError(f"itemhub rebuild failed:\n{output}")
    peak = usage.ru_maxrss / 1024
    said = [line for line in output.splitlines() if "events to position" in line]
    return seconds, peak, said[-1].strip() if said else output.strip()[-200:]


def measure(
    backend: Backend, items: int, log: Callable[[str], None] = print
) -> tuple[int, float, float, str]:
    """Populate a fresh database, rebuild it in a child process: the head,
    seconds, peak RSS (MiB) and what ``itemhub rebuild`` said."""
    with fresh_database(backend) as url:
        with opened_hub(url) as hub:
            started = time.perf_counter()
            head = populate(hub.app, items, 10, "spread")
            log(
                f"populated {head:,} events in {time.perf_counter() - started:.0f} s "
                f"({backend})"
            )
        seconds, peak, said = rebuild_in_a_process(url)
    return head, seconds, peak, said


def main(argv: list[str] | None = None) -> None:
    """Populate, rebuild in a child process, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild_1m")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args(argv)
    backend: Backend = args.backend
    load = os.getloadavg()[0]
    head, seconds, peak, said = measure(backend, args.items, print)
    print(f"itemhub rebuild said: {said}")
    met = seconds <= SECONDS_TARGET and peak <= RSS_TARGET_MIB
    print(
        f"full rebuild of {head:,} events, every read model, {backend}: "
        f"{seconds:.1f} s ({head / seconds:,.0f} events/s), peak RSS {peak:.0f} MiB; "
        f"targets <= {SECONDS_TARGET:.0f} s and <= {RSS_TARGET_MIB:.0f} MiB: "
        f"{'met' if met else 'NOT met'}; load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )


if __name__ == "__main__":
    main()
