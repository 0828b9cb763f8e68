"""Two instances under load: API clients and connected boards at once.

50 API clients (half per instance) each send one request per ``PERIOD``
(lists, single reads and moves, as the admin), while 100 boards (half per
instance) stay connected: real Socket.IO clients that load ``/`` and connect
like ``nicegui.js`` (``bench.nicegui_client.Tab``). For ``LOAD_SECONDS`` there must be
no error at all: no non-2xx answer or failed request, no socket lost, no page
reloaded or refused; and every board must receive the moves' updates. The
latencies (p50/p99/max per request kind) are reported, not asserted.

The instances use a private PostgreSQL server with the default settings
(``max_connections`` = 100): the two must fit, and the shared test server's
connections belong to other tests running at the same time. The peak number
of connections is reported.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psycopg
import pytest

from bench import nicegui_client
from bench.fanout import Board, board_ready, close_tabs
from bench.latency import percentile
from bench.nicegui_client import Browser, Tab
from tests.cluster.conftest import PrivatePostgres, token, wait_ready
from tests.cluster.workload import API, COLUMNS
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.server import Server

pytestmark = pytest.mark.slow

API_CLIENTS = 50
BOARDS = 100
LOAD_SECONDS = float(os.environ.get("ITEMHUB_TEST_LOAD_SECONDS", "60"))
CARDS = 20
PERIOD = 0.5  # each API client sends one request per PERIOD
MOVE_EVERY = 10  # ... and every tenth one is a move
CONNECT_CONCURRENCY = 4  # board tabs opening at once, per instance
CONNECT_TIMEOUT = 120.0
REQUEST_TIMEOUT = 30.0


class CountingTab(Tab):
    """A board tab that counts the messages that change its cards."""

    board_updates = 0

    def _on_update(self, msg: dict[str, Any], now: float) -> None:
        if any(
            (tid := nicegui_client.testid_of(e)) and tid.startswith("column-")
            for e in msg.values()
            if isinstance(e, dict)
        ):
            self.board_updates += 1
        super()._on_update(msg, now)

    def _on_operations(self, message: dict[str, Any], now: float) -> None:
        self.board_updates += 1
        super()._on_operations(message, now)


@dataclass
class Figures:
    """What the API clients saw."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)


async def _api_client(
    http: aiohttp.ClientSession,
    base: str,
    bearer: str,
    items: list[str],
    n: int,
    until: float,
    figures: Figures,
) -> None:
    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {bearer}"}
    # Spread the clients over the period instead of firing in step.
    next_at = time.monotonic() + PERIOD * n / API_CLIENTS
    sent = 0
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if time.monotonic() >= until:
            return
        next_at += PERIOD
        sent += 1
        item = rng.choice(items)
        if sent % MOVE_EVERY == 0:
            kind, method, url = "move", "POST", f"{base}{API}/items/{item}/move"
            body: dict[str, Any] | None = {
                "column": rng.choice(COLUMNS),
                "position": rng.randrange(3),
            }
        elif sent % 2:
            kind, method, url, body = "list", "GET", f"{base}{API}/items?limit=50", None
        else:
            kind, method, url, body = "get", "GET", f"{base}{API}/items/{item}", None
        started = time.perf_counter()
        try:
            async with http.request(method, url, json=body, headers=headers) as r:
                answer = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            figures.errors.append(f"{kind} via {base}: {exc!r}")
            continue
        figures.ms[kind].append((time.perf_counter() - started) * 1000)
        if not 200 <= status < 300:
            figures.errors.append(f"{kind} via {base}: {status} {answer[:200]!r}")


async def _open_tabs(
    browser: Browser, board: Board, count: int, tabs: list[CountingTab]
) -> list[float]:
    wait_for = board_ready(board)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    seconds: list[float] = []

    async def one() -> None:
        async with gate:
            tab = CountingTab(browser.http, browser.base, browser=browser)
            tabs.append(tab)
            seconds.append(await tab.open("/", wait_for=wait_for))

    # A failure or the timeout cancels the other openings (the caller closes
    # every tab opened so far).
    async with asyncio.timeout(CONNECT_TIMEOUT), asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(one())
    return [s * 1000 for s in seconds]


class ConnectionPeak:
    """A thread sampling the database's client connections (the peak)."""

    def __init__(self, postgres: PrivatePostgres) -> None:
        self.postgres = postgres
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.peak = max(self.peak, self.postgres.connections())
            except psycopg.Error:
                continue  # too many clients, say: the next sample tells


def _summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (
        f"n={len(samples)} p50 {percentile(samples, 50):.0f} ms, "
        f"p99 {percentile(samples, 99):.0f} ms, max {max(samples):.0f} ms"
    )


async def test_two_instances_serve_50_api_clients_and_100_boards_without_error(
    start_private_instance: Callable[..., Server],
    private_postgres: PrivatePostgres,
    monkeypatch: pytest.MonkeyPatch,
    report: Callable[[str], None],
) -> None:
    # The bench's client logs the boards in as its own admin; ours has this password.
    monkeypatch.setattr(nicegui_client, "ADMIN_PASSWORD", ADMIN_PASSWORD)
    quiet = {"ITEMHUB_LOG_LEVEL": "WARNING"}  # no access-log line per request
    servers = [start_private_instance(**quiet), start_private_instance(**quiet)]
    for server in servers:
        wait_ready(server)
    bearers = {s.url: token(s) for s in servers}

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    api = aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    )
    browsers = [
        Browser(
            aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=CONNECT_TIMEOUT),
            ),
            server.url,
        )
        for server in servers
    ]
    tabs: list[CountingTab] = []
    try:
        column_of: dict[str, str] = {}
        for n in range(CARDS):
            async with api.post(
                f"{servers[n % 2].url}{API}/items",
                json={"title": f"Load card {n}", "column": COLUMNS[n % 4]},
                headers={"Authorization": f"Bearer {bearers[servers[n % 2].url]}"},
            ) as created:
                assert created.status == 201, await created.text()
                column_of[str((await created.json())["id"])] = COLUMNS[n % 4]
        board = Board(column_of=column_of)

        started = time.monotonic()
        for browser in browsers:
            await browser.log_in()
        async with asyncio.TaskGroup() as group:
            opening = [
                group.create_task(_open_tabs(b, board, BOARDS // 2, tabs))
                for b in browsers
            ]
        connect_ms = [ms for task in opening for ms in task.result()]
        report(
            f"{len(tabs)} boards connected in {time.monotonic() - started:.1f} s "
            f"(page to all cards shown: {_summary(connect_ms)})"
        )
        before = {id(t): t.board_updates for t in tabs}

        figures = Figures()
        until = time.monotonic() + LOAD_SECONDS
        with ConnectionPeak(private_postgres) as connections:
            async with asyncio.TaskGroup() as group:
                for n in range(API_CLIENTS):
                    server = servers[n % 2]
                    group.create_task(
                        _api_client(
                            api,
                            server.url,
                            bearers[server.url],
                            list(column_of),
                            n,
                            until,
                            figures,
                        )
                    )
        total = sum(len(v) for v in figures.ms.values())
        report(
            f"{API_CLIENTS} API clients for {LOAD_SECONDS:.0f} s on 2 instances: "
            f"{total} answers ({total / LOAD_SECONDS:.0f}/s), "
            f"{len(figures.errors)} errors"
        )
        for kind in sorted(figures.ms):
            report(f"  {kind}: {_summary(figures.ms[kind])}")
        received = [t.board_updates - before[id(t)] for t in tabs]
        report(
            f"board updates per tab during the run: min {min(received)}, "
            f"median {statistics.median(received):.0f}, max {max(received)}"
        )
        trouble = {
            "sockets lost": sum(t.drops for t in tabs),
            "pages reloaded": sum(t.reloads for t in tabs),
            "page errors": sum(t.page_errors for t in tabs),
            "logged out": sum(t.logouts for t in tabs),
        }
        report("boards: " + ", ".join(f"{k} {v}" for k, v in trouble.items()))
        report(f"peak PostgreSQL connections of the two instances: {connections.peak}")

        if figures.errors:
            logged = "".join(line for s in servers for line in s.output)
            first = logged.find("Traceback")
            pytest.fail(
                f"{len(figures.errors)} errors: {figures.errors[:5]}\n"
                f"the servers logged:\n{logged[max(0, first - 500) : first + 6000]}"
            )
        assert not any(trouble.values()), trouble
        assert min(received) > 0, "a board received none of the moves"
        assert figures.ms["move"], "no move was sent"
    finally:
        await close_tabs(tabs)
        for browser in browsers:
            await browser.http.close()
        await api.close()
