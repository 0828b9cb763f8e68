"""Live-board fan-out: a REST command → the change at N real Socket.IO clients.

    .venv/bin/python -m bench.fanout [--quick] [--clients 1,50,200,500] [--rounds 20]

Starts ``python -m itemhub serve`` (SQLite in a temp dir) on a free loopback
port, creates a 200-card board through the REST API as the admin superuser,
logs one browser session in through the UI login page (a real Socket.IO client
fills the form and clicks, as Chromium would), then opens the board ``/`` with
that session's cookie in N "tabs": each tab GETs the page (its own NiceGUI
``client_id``) and connects to ``/_nicegui_ws/socket.io`` exactly like
``nicegui.js`` (WebSocket transport, implicit handshake, message-id bookkeeping,
an ``ack`` every 3 s, reconnection with replay, a reload when the server has
forgotten the client). Clients are added stage by stage (1 → 50 → 200 → 500);
at each stage the server's RSS growth over the pre-stage-1 baseline is divided
by N, then R rounds each move one card to another column through
``POST /api/v1/items/{id}/move`` (as a second superuser, so every board flashes
"changed by" as for a colleague's change; the browser ends the flash itself)
and time, per client, from just before the HTTP request until the message that
puts the card into the target column reaches that client (the card operations
of ``itemhub.ui.broadcast``, one Socket.IO emit per audience; after a page reload, the
column element that shows it there). It also records the server's
CPU, its full-GC pauses (a ``gc.callbacks`` timer), the worst event-loop stall
on either side, and any lost connections, reloads and error pages. A full run
takes about 10 minutes (``--budget`` caps it); ``--quick`` (N = 1, 20;
5 rounds) about one. Writes
``bench/results/fanout.md`` and ``bench/fanout.png`` (not with ``--quick``
unless ``--write``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from yarl import URL

from bench.fanout_report import (
    API,
    CARDS,
    COLUMNS,
    Run,
    Stage,
    load_run,
    machine,
    report,
    standard_notes,
)
from bench.nicegui_client import (
    ACK_SECONDS,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SOCKET_LOG,
    Browser,
    Tab,
    Watch,
    card_test_id,
    column_test_id,
    log,
)
from bench.server import ServerProcess

EDITOR_EMAIL = "editor@example.com"

EDITOR_PASSWORD = "bench-editor-password"

RECONNECT_TIMEOUT = 3.0  # ui.run_with's default: a closed tab is deleted after it

STARTUP_TIMEOUT = 60.0


# --- the server under test ----------------------------------------------------


# ``python -m itemhub serve``, plus a hook that times the garbage collector's
# full (generation 2) collections: they stop the event loop, and their length
# grows with the number of live objects, i.e. with the open board tabs.
GC_HOOK = """
import gc, runpy, sys, time
_started = [0.0]
def _timed(phase, info):
    if phase == "start":
        _started[0] = time.perf_counter()
    elif info["generation"] == 2:
        ms = (time.perf_counter() - _started[0]) * 1000
        if ms >= 20:
            print(f"bench-gc-pause {ms:.0f}", flush=True)
gc.callbacks.append(_timed)
sys.argv = ["itemhub", *sys.argv[1:]]
runpy.run_module("itemhub", run_name="__main__", alter_sys=True)
"""
GC_LINE = "bench-gc-pause "
KEEP_LINES = 2000


class Server(ServerProcess):
    """``python -m itemhub serve`` on a free loopback port, SQLite in ``home``."""

    def __init__(self, home: Path) -> None:
        self.gc_pauses_ms: list[float] = []  # full collections since last take
        # cwd = the temp dir: no stray .env, and NiceGUI's storage files land there.
        super().__init__(
            ["-c", GC_HOOK, "serve"],
            cwd=home,
            env={
                "ITEMHUB_DATABASE_URL": f"sqlite:///{home / 'itemhub.db'}",
                "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
                "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
                "ITEMHUB_LOGIN_RATE_LIMIT": "100000/minute",
                "ITEMHUB_LOG_LEVEL": "WARNING",  # no access log line per request
            },
        )

    def take_line(self, line: str) -> None:
        """Pick out the GC hook's lines; keep the rest."""
        if line.startswith(GC_LINE):
            self.gc_pauses_ms.append(float(line[len(GC_LINE) :]))
            return
        super().take_line(line)
        if len(self.output) > KEEP_LINES:  # hours of tabs print a lot
            del self.output[: len(self.output) - KEEP_LINES]

    def take_gc_pauses(self) -> list[float]:
        """Full-collection pauses (ms) since the last take."""
        pauses, self.gc_pauses_ms = self.gc_pauses_ms, []
        return pauses

    def tail(self, lines: int = 30) -> str:
        """The last lines the server printed."""
        return "".join(list(self.output)[-lines:])

    def rss_kib(self) -> int:
        """The server's resident set size (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def check_alive(self) -> None:
        """Fail loudly if the server has exited."""
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {self.proc.returncode}:\n{self.tail()}"
            )


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """A fresh server and database, stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="itemhub-fanout-") as home:
        server = Server(Path(home))
        try:
            yield server
        finally:
            server.stop()


async def wait_healthy(http: aiohttp.ClientSession, server: Server) -> None:
    """Until ``/api/v1/health`` answers 200."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            async with http.get(f"{server.url}{API}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass  # not listening yet
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server not healthy in {STARTUP_TIMEOUT}s:\n{server.tail()}")


# --- the REST API ---------------------------------------------------------------


async def api_token(
    http: aiohttp.ClientSession, base: str, email: str, password: str
) -> dict[str, str]:
    """An Authorization header for ``email``."""
    async with http.post(
        f"{base}{API}/login/access-token",
        data={"username": email, "password": password},
    ) as response:
        response.raise_for_status()
        body = await response.json()
    return {"Authorization": f"Bearer {body['access_token']}"}


async def api_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> dict[str, Any]:
    """Send one JSON request; raise with the body on an error status."""
    async with http.request(method, url, json=body, headers=headers) as response:
        if response.status >= 400:
            raise RuntimeError(
                f"{method} {url}: {response.status} {await response.text()}"
            )
        answer: dict[str, Any] = await response.json()
        return answer


@dataclass(slots=True)
class Board:
    """The cards created for the run and the column each is in now."""

    column_of: dict[str, str]  # item id -> column

    @property
    def ids(self) -> list[str]:
        """Item ids in creation order (round-robin over the columns)."""
        return list(self.column_of)


async def create_board(
    http: aiohttp.ClientSession, base: str, admin: dict[str, str]
) -> Board:
    """``CARDS`` cards, spread evenly over the columns, owned by the admin."""
    gate = asyncio.Semaphore(4)

    async def create(n: int) -> tuple[str, str]:
        column = COLUMNS[n % len(COLUMNS)]
        async with gate:
            item = await api_json(
                http,
                "POST",
                f"{base}{API}/items",
                admin,
                {
                    "title": f"Card {n:03d}",
                    "description": f"Benchmark card number {n}, in {column}.",
                    "column": column,
                },
            )
        return str(item["id"]), column

    created = await asyncio.gather(*(create(n) for n in range(CARDS)))
    return Board(column_of=dict(created))


# --- a browser tab, as nicegui.js behaves ----------------------------------------


class DriverGc:
    """Full collections of this driver's own heap (they stall every tab's timing)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            ms = (time.perf_counter() - self._started) * 1000
            if ms >= 20:
                self.pauses.append(ms)

    def take(self) -> list[float]:
        """Pauses (ms) since the last take."""
        pauses, self.pauses = self.pauses, []
        return pauses


class LoopLag:
    """How late this process's event loop wakes up from 50 ms sleeps (max)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin probing on the running loop."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.worst = max(self.worst, time.perf_counter() - before - 0.05)

    def take(self) -> float:
        """The worst lag in ms since the last take."""
        worst, self.worst = self.worst, 0.0
        return worst * 1000

    def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()


class ServerLag:
    """Round trips of the server's ``async`` liveness endpoint, from a thread.

    The endpoint runs on the server's event loop, so a slow answer means a busy
    loop; the thread keeps the probe independent of this process's loop.
    """

    def __init__(self, base: str) -> None:
        self.url = f"{base}{API}/health"
        self.worst = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Begin probing."""
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=60) as http:
            while not self._stop.wait(0.2):
                before = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    http.get(self.url)
                self.worst = max(self.worst, time.perf_counter() - before)

    def take(self) -> float:
        """The worst round trip in ms since the last take."""
        worst, self.worst = self.worst, 0.0
        return worst * 1000

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=70)


# --- measuring ----------------------------------------------------------------------


def board_ready(board: Board) -> set[str]:
    """The test ids a fully loaded board shows."""
    return {column_test_id(c) for c in COLUMNS} | {card_test_id(i) for i in board.ids}


async def connect_tabs(
    browser: Browser,
    board: Board,
    count: int,
    concurrency: int,
    deadline: float,
) -> tuple[list[Tab], list[float]]:
    """Open ``count`` board tabs, ``concurrency`` at a time."""
    wait_for = board_ready(board)
    gate = asyncio.Semaphore(concurrency)
    tabs: list[Tab] = []
    seconds: list[float] = []

    async def one() -> None:
        async with gate:
            tab = Tab(browser.http, browser.base, browser=browser)
            tabs.append(tab)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("connect deadline passed")
            seconds.append(
                await asyncio.wait_for(tab.open("/", wait_for=wait_for), remaining)
            )

    results = await asyncio.gather(
        *(one() for _ in range(count)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await close_tabs(tabs)
        raise RuntimeError(f"{len(errors)} of {count} tabs failed: {errors[0]!r}")
    return tabs, [s * 1000 for s in seconds]


async def close_tabs(tabs: Sequence[Tab]) -> None:
    """Close tabs, a few hundred at a time."""
    for start in range(0, len(tabs), 200):
        await asyncio.gather(*(t.close() for t in tabs[start : start + 200]))


async def settle(seconds: float) -> None:
    """Let acks, presence and deletions finish."""
    await asyncio.sleep(seconds)


def driver_cpu() -> float:
    """CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_rounds(
    stage: Stage,
    tabs: Sequence[Tab],
    http: aiohttp.ClientSession,
    base: str,
    editor: dict[str, str],
    board: Board,
    server: Server,
    rounds: int,
    gap: float,
    first_round: int,
    deadline: float,
) -> None:
    """``rounds`` moves; per tab, the time from the POST to the change arriving."""
    cpu_server = server.cpu_seconds()
    cpu_driver = driver_cpu()
    done = 0
    for r in range(rounds):
        timeout = min(10.0 + 0.05 * len(tabs), deadline - time.monotonic())
        if timeout <= 0:
            raise TimeoutError(f"time budget used up after {r} of {rounds} rounds")
        item_id = board.ids[(first_round + r) * 7 % len(board.ids)]
        source = board.column_of[item_id]
        target = COLUMNS[(COLUMNS.index(source) + 1) % len(COLUMNS)]
        watch = Watch(pending=len(tabs))
        for tab in tabs:
            tab.expect_move(card_test_id(item_id), column_test_id(target), watch)
        sent = time.perf_counter()
        await api_json(
            http,
            "POST",
            f"{base}{API}/items/{item_id}/move",
            editor,
            {"column": target, "position": 0},
        )
        stage.http_ms.append((time.perf_counter() - sent) * 1000)
        board.column_of[item_id] = target
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.done.wait(), timeout)
        times = [(t.arrival - sent) * 1000 for t in tabs if t.arrival is not None]
        stage.missing += len(tabs) - len(times)
        for tab in tabs:
            tab.stop_expecting()
        stage.latency_ms += times
        if times:
            stage.first_ms.append(min(times))
            stage.last_ms.append(max(times))
        done += 1
        stage.server_cpu_ms = (server.cpu_seconds() - cpu_server) * 1000 / done
        stage.driver_cpu_ms = (driver_cpu() - cpu_driver) * 1000 / done
        # Rounds stay spaced as in earlier runs (then the server also switched
        # the 2.5 s "changed by" flash off; now the browser does), so that
        # runs compare.
        await asyncio.sleep(gap)


def summary(s: Stage) -> str:
    """A progress line about a finished stage."""
    gc = s.gc_connect_ms + s.gc_rounds_ms
    return (
        f"  N={s.clients}: "
        + (f"{s.mib_per_client:.2f} MiB/client, " if s.rss_kib else "")
        + f"p50 "
        f"{s.pct(s.latency_ms, 50):.0f} ms, last-client p99 "
        f"{s.pct(s.last_ms, 99):.0f} ms, missing {s.missing}; worst lag "
        f"connecting / in rounds: driver {s.driver_lag_connect_ms:,.0f} / "
        f"{s.driver_lag_rounds_ms:,.0f} ms, server {s.server_lag_connect_ms:,.0f} / "
        f"{s.server_lag_rounds_ms:,.0f} ms; {len(gc)} full GCs, worst "
        f"{max(gc, default=0):,.0f} ms; lost {s.drops}, reloads {s.reloads}, "
        f"500s {s.page_errors}, logouts {s.logouts} {s.drop_reasons or ''}"
    )


class Trouble:
    """Per-stage differences of the tabs' cumulative trouble counters."""

    def __init__(self) -> None:
        self.seen = (0, 0, 0, 0)
        self.reasons: Counter[str] = Counter()

    def count(self, stage: Stage, tabs: Sequence[Tab]) -> None:
        """Charge what happened since the last call to ``stage``."""
        now = (
            sum(t.drops for t in tabs),
            sum(t.reloads for t in tabs),
            sum(t.page_errors for t in tabs),
            sum(t.logouts for t in tabs),
        )
        stage.drops, stage.reloads, stage.page_errors, stage.logouts = (
            a - b for a, b in zip(now, self.seen, strict=True)
        )
        self.seen = now
        stage.drop_reasons = dict(SOCKET_LOG.reasons - self.reasons)
        self.reasons = Counter(SOCKET_LOG.reasons)
        stage.notes = sorted({n for t in tabs for n in t.notes if "failed" in n})


async def measure(
    sizes: Sequence[int],
    rounds: int,
    gap: float,
    concurrency: int,
    budget: float,
    run: Run,
) -> None:
    """Start the server, build the board, then grow the audience stage by stage."""
    with running_server() as server:
        browser = Browser(
            aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=120),
            ),
            server.url,
        )
        api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        tabs: list[Tab] = []
        trouble = Trouble()
        driver_lag = LoopLag()
        driver_gc = DriverGc()
        gc.callbacks.append(driver_gc)
        server_lag = ServerLag(server.url)
        try:
            started = time.perf_counter()
            await wait_healthy(api, server)
            admin = await api_token(api, server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
            await api_json(
                api,
                "POST",
                f"{server.url}{API}/users",
                admin,
                {
                    "email": EDITOR_EMAIL,
                    "password": EDITOR_PASSWORD,
                    "full_name": "Bench Editor",
                    "is_superuser": True,
                },
            )
            editor = await api_token(api, server.url, EDITOR_EMAIL, EDITOR_PASSWORD)
            board = await create_board(api, server.url, admin)
            run.setup_s = time.perf_counter() - started
            log(f"  server up, {CARDS} cards created in {run.setup_s:.1f}s")

            started = time.perf_counter()
            await browser.log_in()
            jar = browser.http.cookie_jar
            if not jar.filter_cookies(URL(server.url)).get("session"):
                raise RuntimeError("no session cookie after the UI login")
            run.login_s = time.perf_counter() - started
            log(f"  UI login done in {run.login_s:.1f}s; warming up one board tab")
            warm = Tab(browser.http, server.url, keep_elements=True, browser=browser)
            await warm.open("/", wait_for=board_ready(board))
            run.elements = len(warm.elements)
            await warm.close()
            trouble.reasons = Counter(SOCKET_LOG.reasons)  # not the warm-up's
            await settle(RECONNECT_TIMEOUT + ACK_SECONDS + 1)  # deleted by now
            baseline = server.rss_kib()
            log(f"  baseline RSS {baseline / 1024:.0f} MiB")
            driver_lag.start()
            server_lag.start()

            done_rounds = 0
            deadline = time.monotonic() + budget
            for n in sizes:
                stage = Stage(clients=n, baseline_kib=baseline)
                try:
                    server.check_alive()
                    driver_lag.take()
                    server_lag.take()
                    server.take_gc_pauses()
                    t0 = time.perf_counter()
                    cpu = server.cpu_seconds()
                    more, connect_ms = await connect_tabs(
                        browser, board, n - len(tabs), concurrency, deadline
                    )
                    tabs += more
                    stage.connect_wall_s = time.perf_counter() - t0
                    stage.connect_cpu_ms = (
                        (server.cpu_seconds() - cpu) * 1000 / max(1, len(more))
                    )
                    stage.connect_ms = connect_ms
                    stage.driver_lag_connect_ms = driver_lag.take()
                    stage.server_lag_connect_ms = server_lag.take()
                    stage.gc_connect_ms = server.take_gc_pauses()
                    log(
                        f"  N={n}: +{len(more)} tabs in {stage.connect_wall_s:.1f}s; "
                        "settling"
                    )
                    await settle(ACK_SECONDS + 2)
                    stage.rss_kib = server.rss_kib()
                    stage.load = f"{os.getloadavg()[0]:.1f}"
                    driver_lag.take()
                    server_lag.take()
                    server.take_gc_pauses()
                    # The tabs' state is long-lived: frozen, this driver's own
                    # full collections in the rounds do not walk it (one stalled
                    # the driver, and so every tab's timing, 90 ms at N=200).
                    gc.collect()
                    gc.freeze()
                    driver_gc.take()
                    await run_rounds(
                        stage,
                        tabs,
                        api,
                        server.url,
                        editor,
                        board,
                        server,
                        rounds,
                        gap,
                        done_rounds,
                        deadline,
                    )
                    done_rounds += rounds
                    stage.driver_lag_rounds_ms = driver_lag.take()
                    stage.server_lag_rounds_ms = server_lag.take()
                    stage.gc_rounds_ms = server.take_gc_pauses()
                    stage.driver_gc_rounds_ms = driver_gc.take()
                    trouble.count(stage, tabs)
                    server.check_alive()
                except Exception as exc:  # report what happened, keep what worked
                    stage.error = f"{type(exc).__name__}: {exc}"[:500]
                    lag = (driver_lag.take(), server_lag.take())
                    if stage.connect_wall_s:  # it failed in the rounds
                        stage.driver_lag_rounds_ms, stage.server_lag_rounds_ms = lag
                        stage.gc_rounds_ms = server.take_gc_pauses()
                    else:
                        stage.driver_lag_connect_ms, stage.server_lag_connect_ms = lag
                        stage.gc_connect_ms = server.take_gc_pauses()
                    trouble.count(stage, tabs)
                    run.stages.append(stage)
                    log(f"  [red]N={n} failed:[/red] {stage.error}")
                    log(summary(stage))
                    log(f"  server output (last lines):\n{server.tail(40)}")
                    break
                run.stages.append(stage)
                log(summary(stage))
        finally:
            driver_lag.stop()
            server_lag.stop()
            try:
                await close_tabs(tabs)
            finally:
                await browser.http.close()
                await api.close()


# --- reporting ------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="N = 1, 20 and 5 rounds (about 1 min)"
    )
    parser.add_argument(
        "--clients", help="comma-separated N to measure (default 1,50,200,500)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per N (default 20)")
    parser.add_argument(
        "--gap",
        type=float,
        default=2.7,
        help="seconds from the last tab's update to the next command; kept at "
        "the earlier runs' 2.7 s (then the server switched the 2.5 s flash off) "
        "so runs compare (default 2.7)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="tabs connecting at a time"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=570.0,
        help="seconds allowed for connecting and measuring, after the setup; "
        "a stage still running then is cut short and reported (default 570)",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/results/fanout.md and bench/fanout.png "
        "(default: on for a full run, off with --quick)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: write the markdown and the plot of a --json file",
    )
    return parser.parse_args(argv)


def raise_fd_limit() -> None:
    """Every client holds a socket here and one in the server (which inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables, write the results."""
    args = parse_args(argv)
    if args.render is not None:
        report(load_run(args.render), write=True)
        return 0
    sizes = (
        [int(n) for n in args.clients.split(",")]
        if args.clients
        else ([1, 20] if args.quick else [1, 50, 200, 500])
    )
    if sizes != sorted(set(sizes)) or sizes[0] < 1:
        raise SystemExit("--clients must be increasing positive numbers")
    rounds = args.rounds or (5 if args.quick else 20)
    write = (not args.quick) if args.write is None else args.write
    raise_fd_limit()
    run = Run(
        machine=machine(args.quick),
        rounds=rounds,
        gap=args.gap,
        concurrency=args.concurrency,
        stages=[],
    )
    log(
        f"ItemHub fan-out bench: N = {', '.join(map(str, sizes))}, {rounds} rounds; "
        f"{run.machine['cores']} cores, Python {run.machine['python']}, "
        f"load average {run.machine['load_average']}"
    )
    started = time.perf_counter()
    aborted: str | None = None
    try:
        asyncio.run(
            measure(sizes, rounds, args.gap, args.concurrency, args.budget, run)
        )
    except Exception as exc:  # keep and report what was measured
        aborted = f"{type(exc).__name__}: {exc}"
        log(f"[red]run aborted:[/red] {aborted}")
    run.total_s = time.perf_counter() - started
    run.machine["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    run.notes = standard_notes(run, args.concurrency, sizes) + run.notes
    if aborted is not None:
        run.notes.append(f"The run stopped early: {aborted}.")
    reached = [s.clients for s in run.stages if s.latency_ms and s.error is None]
    failed = [s for s in run.stages if s.error is not None]
    for s in failed:
        run.notes.append(
            f"N={s.clients} did not complete: {s.error}. Largest N measured: "
            f"{max(reached) if reached else 'none'}."
        )
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(run), indent=1))
    report(run, write=write)
    return 1 if failed or aborted is not None else 0


if __name__ == "__main__":
    sys.exit(main())
