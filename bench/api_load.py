"""REST API under concurrent load, against bare endpoints doing the same work.

    .venv/bin/python -m bench.api_load [--quick] [--backend sqlite|postgres|all]

For each backend this starts ``bench.api_server`` (the real app plus two bare
routes) as a subprocess on a fresh database, seeds items, logs in, and then
drives ``GET /api/v1/items?limit=50`` and ``POST /api/v1/items`` and their bare
twins (``/bench/bare/items``) with C concurrent keep-alive clients from this
process. Each pair runs in alternating segments (API, bare, bare, API, ...), so
neither side always runs on the bigger database, the warmer cache or the quieter
moment of a shared machine. The ratios are API/bare for requests/s and bare/API
for p99 latency (1.0: the API layer costs nothing; targets: >= 0.8 for reads,
>= 0.6 for writes). Server CPU per request is shown too: unlike requests/s it
hardly depends on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from bench.backends import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BACKENDS,
    Backend,
    fresh_database,
    postgres_version,
)
from bench.latency import percentile
from bench.server import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0
SEED_ITEMS = 200
SEED_CONCURRENCY = 8
COLUMNS = ("Backlog", "Todo", "Doing", "Done")
Kind = Literal["read", "write"]
Side = Literal["api", "bare"]
KINDS: tuple[Kind, ...] = ("read", "write")
TARGETS: dict[Kind, float] = {"read": 0.8, "write": 0.6}
TICKS = os.sysconf("SC_CLK_TCK")

console = Console()
if not console.is_terminal:
    console = Console(width=160)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One of the four measured endpoints."""

    kind: Kind
    side: Side

    @property
    def path(self) -> str:
        """Where it is served."""
        return "/api/v1/items" if self.side == "api" else "/bench/bare/items"

    @property
    def label(self) -> str:
        """How the tables name it."""
        method = "GET" if self.kind == "read" else "POST"
        query = "?limit=50" if self.kind == "read" and self.side == "api" else ""
        return f"{method} {self.path}{query}"

    @property
    def expected_status(self) -> int:
        """A success."""
        return 200 if self.kind == "read" else 201


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how hard each endpoint is driven."""

    concurrency: int
    warmup: float
    duration: float  # measured seconds per endpoint, in ``rounds`` segments
    rounds: int


FULL = Plan(concurrency=16, warmup=2.0, duration=10.0, rounds=4)
QUICK = Plan(concurrency=16, warmup=0.5, duration=2.0, rounds=2)


@dataclass(slots=True)
class Figures:
    """What one endpoint did in its measured time (all segments summed)."""

    backend: Backend
    endpoint: Endpoint
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU seconds of the server process
    driver_cpu: float = 0.0  # CPU seconds of this process
    machine_busy: float = 0.0  # busy fraction of all cores, summed over seconds

    @property
    def requests(self) -> int:
        """Successful requests."""
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """Latency percentile in ms (successful requests)."""
        return percentile(self.latencies_ms, p) if self.latencies_ms else float("nan")

    @property
    def cpu_per_request(self) -> float:
        """Server CPU milliseconds per successful request."""
        return 1000 * self.server_cpu / self.requests if self.requests else 0.0

    def share(self, cpu_seconds: float) -> float:
        """CPU seconds per measured second, in % of one core."""
        return 100 * cpu_seconds / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Ratio:
    """API against bare for one kind of request."""

    backend: Backend
    kind: Kind
    api: Figures
    bare: Figures

    @property
    def throughput(self) -> float:
        """API req/s over bare req/s."""
        return self.api.rate / self.bare.rate if self.bare.rate else 0.0

    @property
    def p99(self) -> float:
        """Bare p99 over API p99 (higher is better, like the throughput ratio)."""
        return self.bare.pct(99) / self.api.pct(99)

    @property
    def target(self) -> float:
        """The issue's target for both ratios."""
        return TARGETS[self.kind]


# --- the server process ---------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    values = [
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


class ApiServer(ServerProcess):
    """``python -m bench.api_server`` on a free port; always ``stop()`` it."""

    def __init__(self, database_url: str) -> None:
        super().__init__(
            ["-m", "bench.api_server"],
            cwd=ROOT,
            env={
                "ITEMHUB_DATABASE_URL": database_url,
                "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
                "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
                "ITEMHUB_LOGIN_RATE_LIMIT": "1000/minute",
                "ITEMHUB_LOG_LEVEL": "WARNING",
            },
        )

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once ``/api/v1/health`` answers 200 (else raise with the log)."""
        super().wait_healthy(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        return super().stop(timeout)


@contextmanager
def served(database_url: str) -> Iterator[ApiServer]:
    """A healthy server on ``database_url``, stopped afterwards whatever happens."""
    server = ApiServer(database_url)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


# --- load -------------------------------------------------------------------------


class Driver:
    """Keep-alive clients against one server, sharing a token and a counter."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.written = 0

    async def request(self, endpoint: Endpoint) -> httpx.Response:
        """One request to ``endpoint`` (every side sends the same headers)."""
        if endpoint.kind == "read":
            params = {"limit": "50"} if endpoint.side == "api" else None
            return await self.client.get(
                endpoint.path, params=params, headers=self.headers
            )
        self.written += 1
        n = self.written
        body = {"title": f"bench card {n}", "column": COLUMNS[n % len(COLUMNS)]}
        return await self.client.post(endpoint.path, json=body, headers=self.headers)

    async def drive(
        self, endpoint: Endpoint, concurrency: int, seconds: float, figures: Figures
    ) -> None:
        """``concurrency`` clients for ``seconds``; adds to ``figures`` if given."""
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            while (started := time.perf_counter()) < stop_at:
                try:
                    response = await self.request(endpoint)
                except httpx.HTTPError as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"
                else:
                    ok = response.status_code == endpoint.expected_status
                    why = f"{response.status_code} {response.text[:200]}"
                elapsed = time.perf_counter() - started
                if ok:
                    figures.latencies_ms.append(elapsed * 1000)
                else:
                    figures.errors += 1
                    if len(figures.error_samples) < 3:
                        figures.error_samples.append(why)

        await asyncio.gather(*(client() for _ in range(concurrency)))

    async def measure(
        self,
        endpoint: Endpoint,
        concurrency: int,
        seconds: float,
        figures: Figures,
        server_pid: int,
    ) -> None:
        """Drive ``endpoint`` and add requests, latencies and CPU to ``figures``."""
        server_before = cpu_seconds(server_pid)
        driver_before = time.process_time()
        busy_before, total_before = machine_ticks()
        started = time.perf_counter()
        await self.drive(endpoint, concurrency, seconds, figures)
        elapsed = time.perf_counter() - started
        busy_after, total_after = machine_ticks()
        figures.seconds += elapsed
        figures.server_cpu += cpu_seconds(server_pid) - server_before
        figures.driver_cpu += time.process_time() - driver_before
        if total_after > total_before:
            figures.machine_busy += (
                elapsed * (busy_after - busy_before) / (total_after - total_before)
            )


async def login(client: httpx.AsyncClient) -> str:
    """An access token for the first superuser."""
    response = await client.post(
        "/api/v1/login/access-token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def seed(driver: Driver, count: int) -> None:
    """``count`` items through the API, a few at a time."""
    api_write = Endpoint("write", "api")
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            response = await driver.request(api_write)
            if response.status_code != 201:
                raise RuntimeError(f"seeding failed: {response.status_code}")

    await asyncio.gather(*(worker() for _ in range(SEED_CONCURRENCY)))


async def run_backend(
    backend: Backend, server: ApiServer, plan: Plan, profile: Path | None
) -> list[Figures]:
    """Seed, then each kind in segments: API, bare, bare, API, API, bare, ..."""
    limits = httpx.Limits(
        max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency
    )
    async with httpx.AsyncClient(
        base_url=server.url, limits=limits, timeout=REQUEST_TIMEOUT
    ) as client:
        driver = Driver(client, await login(client))
        await seed(driver, SEED_ITEMS)
        results: list[Figures] = []
        segment = plan.duration / plan.rounds
        for kind in KINDS:
            api, bare = Endpoint(kind, "api"), Endpoint(kind, "bare")
            figures = {e: Figures(backend, e) for e in (api, bare)}
            order = [
                (api, bare) if r % 2 == 0 else (bare, api) for r in range(plan.rounds)
            ]
            for endpoint in (e for pair in order for e in pair):
                first = figures[endpoint].seconds == 0.0
                if first:
                    console.print(f"  {backend}: {endpoint.label} ...", highlight=False)
                    await driver.drive(
                        endpoint,
                        plan.concurrency,
                        plan.warmup,
                        Figures(backend, endpoint),
                    )
                spy = None
                if profile is not None and endpoint.side == "api" and first:
                    out = profile / f"{backend}-{kind}"
                    spy = start_py_spy(server.pid, out, segment)
                try:
                    await driver.measure(
                        endpoint,
                        plan.concurrency,
                        segment,
                        figures[endpoint],
                        server.pid,
                    )
                finally:
                    if spy is not None:
                        finish_py_spy(spy)
            results += figures.values()
        return results


# --- profiling ----------------------------------------------------------------------


def start_py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """``py-spy record`` of the server (GIL holder only, flat "raw" stacks)."""
    py_spy = shutil.which("py-spy") or shutil.which(
        "py-spy", path=str(Path(sys.executable).parent)
    )
    if py_spy is None:
        raise RuntimeError("--profile needs py-spy on PATH or in the venv")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--gil",  # only the thread holding the GIL: where the Python CPU goes
            "--format",
            "raw",
            "--output",
            f"{out}.txt",
            "--nonblocking",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish_py_spy(spy: subprocess.Popen[bytes]) -> None:
    """Wait for ``py-spy`` to write its file (it stops by itself)."""
    try:
        spy.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


# --- reporting ----------------------------------------------------------------------


def _ok(value: float, target: float) -> str:
    return "[green]met[/green]" if value >= target else "[red]missed[/red]"


def figures_table(figures: list[Figures], plan: Plan) -> Table:
    """Every endpoint of every backend."""
    table = Table(
        title=f"REST API vs bare endpoints, {plan.concurrency} concurrent clients, "
        f"{plan.duration:g} s each"
    )
    for column in (
        "backend",
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU",
        "CPU ms/req",
        "driver CPU",
        "machine busy",
    ):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    previous = ""
    for f in figures:
        table.add_row(
            "" if f.backend == previous else f.backend,
            f.endpoint.label,
            f"{f.requests:,}",
            f"{f.rate:,.0f}",
            f"{f.pct(50):.1f}",
            f"{f.pct(99):.1f}",
            str(f.errors),
            f"{f.share(f.server_cpu):.0f}%",
            f"{f.cpu_per_request:.1f}",
            f"{f.share(f.driver_cpu):.0f}%",
            f"{100 * f.machine_busy / f.seconds:.0f}%" if f.seconds else "-",
            end_section=f.endpoint == Endpoint("write", "bare"),
        )
        previous = f.backend
    return table


def ratios_table(ratios: list[Ratio]) -> Table:
    """API/bare per backend and kind, with the targets."""
    table = Table(title="API / bare (1.0: the API layer costs nothing)")
    for column in ("backend", "kind", "req/s ratio", "p99 ratio", "target", "verdict"):
        table.add_column(column, justify="right")
    for r in ratios:
        table.add_row(
            r.backend,
            r.kind,
            f"{r.throughput:.2f} {_ok(r.throughput, r.target)}",
            f"{r.p99:.2f} {_ok(r.p99, r.target)}",
            f">= {r.target}",
            "met" if min(r.throughput, r.p99) >= r.target else "missed",
        )
    return table


def markdown(figures: list[Figures], ratios: list[Ratio]) -> str:
    """The same two tables as Markdown, for bench/results/api.md."""
    lines = [
        "| backend | endpoint | requests | req/s | p50 ms | p99 ms | errors "
        "| server CPU | CPU ms/req | driver CPU | machine busy |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for f in figures:
        busy = 100 * f.machine_busy / f.seconds if f.seconds else 0.0
        lines.append(
            f"| {f.backend} | `{f.endpoint.label}` | {f.requests:,} | {f.rate:,.0f} "
            f"| {f.pct(50):.1f} | {f.pct(99):.1f} | {f.errors} "
            f"| {f.share(f.server_cpu):.0f}% | {f.cpu_per_request:.1f} "
            f"| {f.share(f.driver_cpu):.0f}% "
            f"| {busy:.0f}% |"
        )
    lines += [
        "",
        "| backend | kind | req/s API/bare | p99 bare/API | target | verdict |",
        "|---|---|--:|--:|--:|---|",
    ]
    for r in ratios:
        verdict = "met" if min(r.throughput, r.p99) >= r.target else "**missed**"
        lines.append(
            f"| {r.backend} | {r.kind} | {r.throughput:.2f} | {r.p99:.2f} "
            f"| >= {r.target} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def ratios_of(figures: list[Figures]) -> list[Ratio]:
    """Pair each API endpoint with its bare twin."""
    by_key = {(f.backend, f.endpoint): f for f in figures}
    ratios = []
    for backend in dict.fromkeys(f.backend for f in figures):
        for kind in KINDS:
            api = by_key.get((backend, Endpoint(kind, "api")))
            bare = by_key.get((backend, Endpoint(kind, "bare")))
            if api and bare:
                ratios.append(Ratio(backend, kind, api, bare))
    return ratios


# --- main ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run (under a minute for both backends)",
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres", "all"], default="all"
    )
    parser.add_argument(
        "--concurrency", type=int, help="concurrent clients (default: 16)"
    )
    parser.add_argument(
        "--duration", type=float, help="measured seconds per endpoint (default: 10)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the server during the first API segment of each kind into DIR",
    )
    parser.add_argument(
        "--markdown", type=Path, help="also write the tables as Markdown to this file"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every selected backend; print the tables."""
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = Plan(
        concurrency=args.concurrency or plan.concurrency,
        warmup=plan.warmup,
        duration=args.duration or plan.duration,
        rounds=plan.rounds,
    )
    backends: list[Backend] = (
        list(BACKENDS) if args.backend == "all" else [args.backend]
    )
    started = time.perf_counter()
    header = (
        f"ItemHub API load ({'quick' if args.quick else 'full'}): "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {postgres_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}, "
        f"{plan.concurrency} clients, load average before {load_average()}"
    )
    console.print(header, highlight=False)
    figures: list[Figures] = []
    for backend in backends:
        console.print(f"{backend}: starting the server ...", highlight=False)
        with fresh_database(backend) as url, served(url) as server:
            try:
                figures += uvloop.run(run_backend(backend, server, plan, args.profile))
            finally:
                show_server_problems(backend, server)
    ratios = ratios_of(figures)
    console.print()
    console.print(figures_table(figures, plan))
    console.print(ratios_table(ratios))
    for f in figures:
        for sample in f.error_samples:
            console.print(f"{f.backend} {f.endpoint.label} error: {sample}")
    footer = (
        f"total {time.perf_counter() - started:.0f}s, "
        f"load average after {load_average()}"
    )
    console.print(footer, highlight=False)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(f"{header}\n\n{markdown(figures, ratios)}\n{footer}\n")
    return 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def show_server_problems(backend: Backend, server: ApiServer) -> None:
    """Print the server's log when it logged an error or a traceback."""
    log = "".join(server.output)
    if "Traceback" in log or " ERROR " in log:
        tail = "".join(list(server.output)[-40:])
        console.print(f"{backend} server log (last lines):\n{tail}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
