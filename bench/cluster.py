"""One instance vs two on one PostgreSQL: throughput, fan-out and cross-instance push.

    .venv/bin/python -m bench.cluster [--quick] [--seconds 20] [--clients 16]
                                      [--streams 50]

For each layout (one instance; two instances) this creates a fresh PostgreSQL
database, runs ``itemhub migrate`` once and starts ``itemhub serve`` processes
on free loopback ports, exactly as deployed (``ITEMHUB_AUTO_MIGRATE=false``,
NiceGUI sessions in Redis). Then:

* **throughput**: C keep-alive API clients, spread evenly over the instances,
  issue ``POST /api/v1/items`` (writes) or ``GET /api/v1/items?limit=50``
  (reads) for S seconds each; requests/s and p50/p99 latency.
* **fan-out**: K ``/api/v1/events/stream`` SSE clients spread over the
  instances; one command every 100 ms through the first instance; latency from
  just before the POST until each stream has the event (p50/p99 over all
  streams and commands).
* **push**: one stream per instance and nothing else running; from the
  event's own timestamp (taken when the command's events were created, before
  the save) to its arrival on the stream of the instance that took the command
  ("same") and, with two instances, of the *other* one (one clock: every
  process runs on this machine).

Writes ``bench/results/cluster.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench.backends import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    fresh_database,
    postgres_version,
)
from bench.latency import percentile
from tests.e2e.server import Server, child_env

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cluster.md"
API = "/api/v1"
SECRET = "bench-cluster-secret-" + "x" * 32
REDIS_URL = "redis://127.0.0.1:6379/0"
PUSH_TARGET_MS = 50.0
COMMAND_EVERY = 0.1


@dataclass
class Layout:
    """Figures for one number of instances."""

    instances: int
    write_rps: float = 0.0
    write_p50: float = 0.0
    write_p99: float = 0.0
    read_rps: float = 0.0
    read_p50: float = 0.0
    read_p99: float = 0.0
    fanout: list[float] = field(default_factory=list)
    push_same: list[float] = field(default_factory=list)
    push_other: list[float] = field(default_factory=list)
    errors: int = 0


def _env(database_url: str) -> dict[str, str]:
    return {
        "ITEMHUB_DATABASE_URL": database_url,
        "ITEMHUB_AUTO_MIGRATE": "false",
        "ITEMHUB_REDIS_URL": REDIS_URL,
        "ITEMHUB_SECRET_KEY": SECRET,
        "ITEMHUB_STORAGE_SECRET": SECRET,
        "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
        "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
        "ITEMHUB_LOGIN_RATE_LIMIT": "10000/minute",
        "ITEMHUB_LOG_LEVEL": "WARNING",
    }


@contextmanager
def cluster(n: int) -> Iterator[list[Server]]:
    """N instances on a fresh, migrated database (stopped afterwards)."""
    with (
        fresh_database("postgres") as url,
        tempfile.TemporaryDirectory(prefix="itemhub-cluster-") as tmp,
    ):
        env = _env(url)
        subprocess.run(
            [sys.executable, "-m", "itemhub", "migrate"],
            cwd=tmp,
            env=child_env(**env),
            check=True,
            capture_output=True,
        )
        servers: list[Server] = []
        try:
            for i in range(n):
                cwd = Path(tmp) / f"i{i}"
                cwd.mkdir()
                servers.append(Server(cwd, **env))
            for server in servers:
                server.wait_healthy()
            for server in servers:
                _wait_ready(server)
            yield servers
        finally:
            for server in servers:
                server.stop()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}{API}/health/ready").status_code == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{server.url} never became ready")


def _token(server: Server) -> str:
    response = httpx.post(
        f"{server.url}{API}/login/access-token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


async def _drive(
    servers: list[Server], token: str, clients: int, seconds: float, kind: str
) -> tuple[float, list[float], int]:
    """C clients hammer one route for S seconds; (req/s, latencies ms, errors)."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def one(i: int) -> None:
        nonlocal errors
        server = servers[i % len(servers)]
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=30
        ) as client:
            n = 0
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                if kind == "write":
                    r = await client.post(
                        f"{API}/items",
                        json={"title": f"load {i}-{n}", "column": "Todo"},
                    )
                else:
                    r = await client.get(f"{API}/items", params={"limit": 50})
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code >= 400:
                    errors += 1
                n += 1

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return len(latencies) / (time.monotonic() - started), latencies, errors


async def _streams(
    layout: Layout,
    servers: list[Server],
    token: str,
    streams: int,
    commands: int,
    *,
    push: bool = False,
) -> None:
    """Fan-out latency over SSE streams spread across the instances (with
    ``push``: one stream per instance, timed from each event's timestamp)."""
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    arrived: list[tuple[int, str, float]] = []  # (instance, item id, wall time)
    ready = asyncio.Event()
    opened = 0

    async def listen(i: int) -> None:
        nonlocal opened
        server = servers[i % len(servers)]
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(30, read=60)) as client,
            client.stream(
                "GET", f"{server.url}{API}/events/stream", headers=headers
            ) as response,
        ):
            opened += 1
            if opened == streams:
                ready.set()
            data = ""
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data = line.removeprefix("data:").strip()
                elif not line and data:
                    now = time.time()
                    body = json.loads(data)
                    data = ""
                    if body.get("action") != "item.created":
                        continue
                    arrived.append((i % len(servers), body["target_id"], now))
                    occurred = dt.datetime.fromisoformat(body["occurred_at"])
                    push_ms = (now - occurred.timestamp()) * 1000
                    if push:  # one quiet stream per instance: push latency
                        same = i % len(servers) == 0
                        (layout.push_same if same else layout.push_other).append(
                            push_ms
                        )

    tasks = [asyncio.create_task(listen(i)) for i in range(streams)]
    await asyncio.wait_for(ready.wait(), 60)
    # Let every stream's first heartbeat-free read settle before timing.
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(
        base_url=servers[0].url, headers=headers, timeout=30
    ) as client:
        for n in range(commands):
            t0 = time.time()
            r = await client.post(
                f"{API}/items", json={"title": f"fan {n}", "column": "Todo"}
            )
            if r.status_code != 201:
                layout.errors += 1
                continue
            sent[r.json()["id"]] = t0
            await asyncio.sleep(COMMAND_EVERY)
        deadline = time.monotonic() + 30
        while (
            sum(1 for _, item, _ in arrived if item in sent) < len(sent) * streams
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    got = [(t - sent[item]) * 1000 for _, item, t in arrived if item in sent]
    layout.errors += max(len(sent) * streams - len(got), 0)
    if not push:
        layout.fanout = got


def run_layout(n: int, args: argparse.Namespace, console: Console) -> Layout:
    """Measure one layout."""
    layout = Layout(instances=n)
    with cluster(n) as servers:
        token = _token(servers[0])
        console.print(f"[bold]{n} instance(s)[/bold]: writes…")
        rps, lat, err = asyncio.run(
            _drive(servers, token, args.clients, args.seconds, "write")
        )
        layout.write_rps, layout.errors = rps, layout.errors + err
        layout.write_p50, layout.write_p99 = percentile(lat, 50), percentile(lat, 99)
        console.print("reads…")
        rps, lat, err = asyncio.run(
            _drive(servers, token, args.clients, args.seconds, "read")
        )
        layout.read_rps, layout.errors = rps, layout.errors + err
        layout.read_p50, layout.read_p99 = percentile(lat, 50), percentile(lat, 99)
        console.print("fan-out…")
        asyncio.run(_streams(layout, servers, token, args.streams, args.commands))
        console.print("push…")
        asyncio.run(_streams(layout, servers, token, n, args.commands, push=True))
    return layout


def _ms(samples: list[float], pct: float) -> str:
    return f"{percentile(samples, pct):.1f}" if samples else "—"


def report(layouts: list[Layout], args: argparse.Namespace) -> str:
    """The results as Markdown."""
    lines = [
        "# One instance vs two on one PostgreSQL",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {postgres_version()}); every "
        "process on one 2-core machine, so two instances share the same CPUs.",
        f"{args.clients} API clients for {args.seconds:.0f} s per route; "
        f"{args.streams} SSE streams; {args.commands} commands, one per "
        f"{COMMAND_EVERY * 1000:.0f} ms. Latencies in ms.",
        "",
        "| instances | writes/s | write p50 | write p99 | reads/s | read p50 | "
        "read p99 | fan-out p50 | fan-out p99 | push same p50/p99 | "
        "push other p50/p99 | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in layouts:
        other = (
            f"{_ms(x.push_other, 50)} / {_ms(x.push_other, 99)}"
            if x.push_other
            else "—"
        )
        lines.append(
            f"| {x.instances} | {x.write_rps:.0f} | {x.write_p50:.1f} | "
            f"{x.write_p99:.1f} | {x.read_rps:.0f} | {x.read_p50:.1f} | "
            f"{x.read_p99:.1f} | {_ms(x.fanout, 50)} | {_ms(x.fanout, 99)} | "
            f"{_ms(x.push_same, 50)} / {_ms(x.push_same, 99)} | {other} | "
            f"{x.errors} |"
        )
    two = [x for x in layouts if x.push_other]
    if two:
        p99 = percentile(two[0].push_other, 99)
        verdict = "met" if p99 <= PUSH_TARGET_MS else "MISSED"
        lines += [
            "",
            f"Cross-instance push p99: {p99:.1f} ms (target ≤ "
            f"{PUSH_TARGET_MS:.0f} ms: {verdict}).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run both layouts and print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--write", action="store_true", help="write results")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.streams, args.commands = 3.0, 4, 10
    console = Console()
    layouts = [run_layout(n, args, console) for n in (1, 2)]
    table = Table(title="ItemHub: one vs two instances")
    for column in ("n", "w/s", "w p99", "r/s", "r p99", "fan p50", "fan p99"):
        table.add_column(column)
    table.add_column("push other p50/p99")
    for x in layouts:
        table.add_row(
            str(x.instances),
            f"{x.write_rps:.0f}",
            f"{x.write_p99:.1f}",
            f"{x.read_rps:.0f}",
            f"{x.read_p99:.1f}",
            _ms(x.fanout, 50),
            _ms(x.fanout, 99),
            f"{_ms(x.push_other, 50)} / {_ms(x.push_other, 99)}",
        )
    console.print(table)
    text = report(layouts, args)
    console.print(text)
    if not args.quick or args.write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
