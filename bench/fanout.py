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
of ``itemhub.ui.components.board_column.send_operations``; after a page reload, the
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
import ast
import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import socketio  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table
from yarl import URL

from bench.latency import percentile

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "fanout.md"
PLOT = ROOT / "bench" / "fanout.png"
API = "/api/v1"
SOCKET_PATH = "/_nicegui_ws/socket.io"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
EDITOR_EMAIL = "editor@example.com"
EDITOR_PASSWORD = "bench-editor-password"
COLUMNS = ("Backlog", "Todo", "Doing", "Done")  # the default ITEMHUB_BOARD_COLUMNS
CARDS = 200
ACK_SECONDS = 3.0  # nicegui.js: setInterval(() => ack(), 3000)
RECONNECT_TIMEOUT = 3.0  # ui.run_with's default: a closed tab is deleted after it
STARTUP_TIMEOUT = 60.0
P99_TARGET_MS = 100.0
P99_TARGET_N = 200
MIB_TARGET = 1.0

console = Console()
if not console.is_terminal:
    console = Console(width=140)


def log(message: str) -> None:
    """A progress line."""
    console.print(message, highlight=False)


# --- the server under test ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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


class Server:
    """``python -m itemhub serve`` on a free loopback port, SQLite in ``home``."""

    def __init__(self, home: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ITEMHUB_", "NICEGUI_", "PYTEST_"))
        }
        env.update(
            ITEMHUB_DATABASE_URL=f"sqlite:///{home / 'itemhub.db'}",
            ITEMHUB_FIRST_SUPERUSER_EMAIL=ADMIN_EMAIL,
            ITEMHUB_FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
            ITEMHUB_LOGIN_RATE_LIMIT="100000/minute",
            ITEMHUB_LOG_LEVEL="WARNING",  # no access log line per request
        )
        self.output: deque[str] = deque(maxlen=2000)
        self.gc_pauses_ms: list[float] = []  # full collections since last take
        # cwd = the temp dir: no stray .env, and NiceGUI's storage files land there.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", GC_HOOK, "serve", "--port", str(self.port)],
            cwd=home,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(GC_LINE):
                self.gc_pauses_ms.append(float(line[len(GC_LINE) :]))
            else:
                self.output.append(line)

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

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


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

QUERY_RE = re.compile(r"^\s*query: (\{.*\}),\s*$", re.MULTILINE)
ELEMENTS_RE = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.DOTALL)


def page_query(html: str) -> dict[str, Any]:
    """The ``query:`` object of a NiceGUI page (a Python-repr dict)."""
    found = QUERY_RE.search(html)
    if found is None:
        raise RuntimeError("no `query:` object in the page")
    query = ast.literal_eval(found.group(1))
    if not isinstance(query, dict) or "client_id" not in query:
        raise RuntimeError(f"unexpected page query {found.group(1)!r}")
    return query


def page_elements(html: str) -> dict[str, dict[str, Any]]:
    """The element tree embedded in the page, unescaped like ``parseElements``."""
    found = ELEMENTS_RE.search(html)
    if found is None:
        raise RuntimeError("no elements in the page")
    raw = (
        found.group(1)
        .replace("&#36;", "$")
        .replace("&#96;", "`")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
    )
    elements: dict[str, dict[str, Any]] = json.loads(raw)
    return elements


def testid_of(element: dict[str, Any]) -> str | None:
    """An element's ``data-testid`` prop, if any."""
    props = element.get("props")
    value = props.get("data-testid") if isinstance(props, dict) else None
    return value if isinstance(value, str) else None


@dataclass(slots=True)
class Watch:
    """One round: how many tabs still wait for the change."""

    pending: int
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self) -> None:
        """One more tab got it."""
        self.pending -= 1
        if self.pending <= 0:
            self.done.set()


class Tab:
    """One browser tab of a NiceGUI page, driven by a python-socketio client.

    Mirrors ``nicegui.js`` and socket.io-client: the page's ``query`` plus a
    fresh ``document_id`` per page load, one ``tab_id`` for the tab's life and
    ``old_tab_id=null`` (how the browser encodes a fresh tab) in the connect
    query; WebSocket transport; implicit handshake; messages whose ``_id`` is
    below ``nextMessageId`` dropped; ``ack`` of ``nextMessageId`` every 3 s; a
    ``javascript_response`` for each ``run_javascript`` that asks for one;
    automatic reconnection (1 s doubling to 5 s, ±0.5 s) with the current
    ``next_message_id`` so the server replays what was missed; and a page
    reload when the server no longer knows the client ("Implicit handshake
    failed"). Nothing is rendered.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base: str,
        *,
        keep_elements: bool = False,
        browser: Browser | None = None,
    ) -> None:
        self.http = http
        self.base = base
        self.browser = browser  # to log in again when the session was closed
        self.keep_elements = keep_elements
        self.tab_id = str(uuid.uuid4())  # sessionStorage: survives reloads
        self.path = "/"
        self.wait_for: set[str] = set()
        self.sio: Any = None
        self.query: dict[str, str] = {}
        self.client_id = ""
        self.next_message_id = 0
        self.acked_message_id = -1
        self.did_handshake = False
        self.elements: dict[str, dict[str, Any]] = {}
        self.by_test_id: dict[str, str] = {}
        self.column_cards: dict[str, set[str]] = {}  # column element -> item ids
        self.opened: asyncio.Queue[str] = asyncio.Queue()
        self.notes: list[str] = []
        self._ready_ids: set[str] = set()
        self._ready = asyncio.Event()
        self._expect: tuple[str, str, Watch] | None = None  # card, column, watch
        self.arrival: float | None = None
        self._acker: asyncio.Task[None] | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._closing = False
        # What went wrong along the way (cumulative).
        self.connects = 0
        self.drops = 0  # connections lost that this tab did not close
        self.reloads = 0  # page reloads after a failed (re)handshake
        self.page_errors = 0  # page GETs answered with an error status
        self.logouts = 0  # page GETs sent to /login: the session had been closed

    # --- loading ----------------------------------------------------------------

    async def open(self, path: str, *, wait_for: Iterable[str] = ()) -> float:
        """GET ``path``, connect its socket; wait until ``wait_for`` test ids exist."""
        self.path = path
        self.wait_for = set(wait_for)
        started = time.perf_counter()
        await self._load()
        if self._acker is None:
            self._acker = asyncio.create_task(self._ack_every_3s())
        while not self._ready.is_set():  # a reload may replace the event's page
            await self._ready.wait()
        return time.perf_counter() - started

    async def _load(self, attempts: int = 5) -> None:
        for attempt in range(attempts):
            try:
                await self._load_once()
                return
            except PageError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(1.0)  # what a user does: wait, press reload

    async def _load_once(self) -> None:
        if self._closing:
            raise PageError("the tab is closing")
        login = self.browser.logins if self.browser is not None else 0
        async with self.http.get(
            f"{self.base}{self.path}", allow_redirects=False
        ) as response:
            html = await response.text()
        location = response.headers.get("location") or ""
        if response.status == 303 and location.startswith("/login"):
            self.logouts += 1
            if self.browser is not None:  # what the user does: log in again
                await self.browser.log_in_again(seen=login)
            raise PageError(f"GET {self.path}: redirected to {location}")
        if response.status != 200:
            self.page_errors += 1
            raise PageError(
                f"GET {self.path}: {response.status} "
                f"{response.headers.get('location') or html[-300:]!r}"
            )
        query = page_query(html)
        self.elements = page_elements(html) if self.keep_elements else {}
        self.column_cards = {}
        self.by_test_id = {}
        for element_id, element in page_elements(html).items():
            self._note_test_ids(element_id, element)
        self.client_id = str(query["client_id"])
        self.next_message_id = int(query["next_message_id"])
        self.acked_message_id = -1
        self.did_handshake = False
        self._ready_ids = self.wait_for - set(self.by_test_id)
        if self._ready_ids:
            self._ready.clear()
        else:
            self._ready.set()
        self.query = {
            **{
                k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in query.items()
            },
            "document_id": str(uuid.uuid4()),
            "tab_id": self.tab_id,
            "old_tab_id": "null",  # what socket.io-client sends for JS null
        }
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=0,  # forever, as socket.io-client
            reconnection_delay=1,
            reconnection_delay_max=5,
            randomization_factor=0.5,
            http_session=self.http,
            handle_sigint=False,
            engineio_logger=ENGINEIO_LOG,
        )
        self.sio.on("*", self._on_message)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)
        try:
            await self.sio.connect(
                self._url,  # called on every (re)connect attempt
                headers={"Origin": self.base},
                transports=["websocket"],
                socketio_path=SOCKET_PATH,
                wait_timeout=60,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise PageError(f"socket connect failed: {exc}") from exc

    def _url(self) -> str:
        # nicegui.js keeps next_message_id current for reconnects (see #6019).
        query = {**self.query, "next_message_id": str(self.next_message_id)}
        return f"{self.base}/?{urlencode(query)}"

    async def _reload(self) -> None:
        await _shut(self.sio)
        if self._closing:
            return
        self.reloads += 1
        try:
            await self._load()
        except Exception as exc:  # a tab that cannot come back: noted, counted
            self.notes.append(f"reload failed: {exc!r}")

    async def close(self) -> None:
        """Close the tab (also while it reconnects or reloads)."""
        self._closing = True
        for task in (self._acker, self._reloading):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
        await _shut(self.sio)

    # --- protocol -----------------------------------------------------------------

    async def _ack_every_3s(self) -> None:
        while True:
            await asyncio.sleep(ACK_SECONDS)
            with contextlib.suppress(Exception):  # e.g. while reconnecting
                await self.ack()

    async def ack(self) -> None:
        """``ack()`` of nicegui.js."""
        if not self.did_handshake or self.acked_message_id >= self.next_message_id:
            return
        await self.sio.emit(
            "ack",
            {"client_id": self.client_id, "next_message_id": self.next_message_id},
        )
        self.acked_message_id = self.next_message_id

    def _on_connect(self) -> None:
        self.connects += 1
        self.did_handshake = True  # implicit handshake: connected means accepted

    def _on_disconnect(self, reason: object = None) -> None:
        self.did_handshake = False
        if not self._closing:
            self.drops += 1

    def _on_connect_error(self, data: object = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        if (
            message == "Implicit handshake failed"
            and self.connects > 0
            and not self._closing
            and (self._reloading is None or self._reloading.done())
        ):
            # nicegui.js: window.location.reload()
            self._reloading = asyncio.create_task(self._reload())

    async def _on_message(self, event: str, *args: Any) -> None:
        now = time.perf_counter()
        msg = args[0] if args else None
        if isinstance(msg, dict) and "_id" in msg:
            message_id = int(msg.pop("_id"))
            if message_id < self.next_message_id:
                return
            self.next_message_id = message_id + 1
        if event == "update" and isinstance(msg, dict):
            self._on_update(msg, now)
        elif event == "run_javascript" and isinstance(msg, dict):
            if OPS_QUEUE in str(msg.get("code")):
                self._on_operations(str(msg["code"]), now)
            if msg.get("request_id"):  # we cannot evaluate it; answer like a no-op
                await self.sio.emit(
                    "javascript_response",
                    {
                        "request_id": msg["request_id"],
                        "client_id": self.client_id,
                        "result": None,
                    },
                )
        elif event == "open" and isinstance(msg, dict):
            self.opened.put_nowait(str(msg.get("path")))
        elif event == "notify" and isinstance(msg, dict):
            self.notes.append(str(msg.get("message")))

    def _note_test_ids(self, element_id: str, element: dict[str, Any]) -> None:
        """Record an element's test id, and those of the cards a column shows."""
        tid = testid_of(element)
        if tid is None:
            return
        self.by_test_id[tid] = element_id
        cards = element.get("props", {}).get("cards")
        if isinstance(cards, list):  # a board column (board_column.js)
            self.column_cards[element_id] = {str(c.get("item")) for c in cards}
            for item in self.column_cards[element_id]:
                self.by_test_id[card_test_id(item)] = element_id

    def _on_update(self, msg: dict[str, Any], now: float) -> None:
        for element_id, element in msg.items():
            if element is None:
                if self.keep_elements:
                    self.elements.pop(element_id, None)
                continue
            if self.keep_elements:
                self.elements[element_id] = element
            self._note_test_ids(element_id, element)
        self._check_ready()
        if self._expect is not None:
            # A (re)loaded page's column that shows the card there counts too.
            card, column, _ = self._expect
            column_id = self.by_test_id.get(column, "")
            if column_id in msg and card[len("card-") :] in self.column_cards.get(
                column_id, ()
            ):
                self._arrived(now)

    def _on_operations(self, code: str, now: float) -> None:
        """Card operations for the board's columns (board_column.py send_operations)."""
        for element_id, ops in parse_operations(code):
            shown = self.column_cards.setdefault(element_id, set())
            for op in ops:
                if op.get("op") == "put":
                    item = str(op["card"]["item"])
                    shown.add(item)
                    self.by_test_id[card_test_id(item)] = element_id
                elif op.get("op") == "drop":
                    shown.discard(str(op.get("item")))
                elif op.get("op") == "reset":
                    shown.clear()
                    shown.update(str(c["item"]) for c in op.get("cards", []))
            if self._expect is not None:
                card, column, _ = self._expect
                if element_id == self.by_test_id.get(column) and any(
                    op.get("op") == "put" and f"card-{op['card']['item']}" == card
                    for op in ops
                ):
                    self._arrived(now)
        self._check_ready()

    def _arrived(self, now: float) -> None:
        assert self._expect is not None
        watch = self._expect[2]
        self._expect = None
        self.arrival = now
        watch.arrived()

    def _check_ready(self) -> None:
        if self._ready_ids:
            self._ready_ids -= set(self.by_test_id)
            if not self._ready_ids:
                self._ready.set()

    # --- measuring ----------------------------------------------------------------

    def expect_move(self, card_test_id: str, column_test_id: str, watch: Watch) -> None:
        """Note the time of the first message that puts the card in the column.

        By test id, not element id: a reloaded page has new element ids (and its
        first ``update`` shows the card where it is now, which also counts).
        """
        self.arrival = None
        self._expect = (card_test_id, column_test_id, watch)

    def stop_expecting(self) -> None:
        """Forget a round that timed out."""
        self._expect = None

    async def emit_event(self, testid: str, event_type: str, value: Any = None) -> None:
        """What a Vue event handler in nicegui.js emits for this element."""
        element_id = self.by_test_id[testid]
        element = self.elements[element_id]
        listener = next(e for e in element.get("events", []) if e["type"] == event_type)
        spec = listener.get("args")
        args: list[str] = []
        if value is not None and (spec is None or len(spec) > 0):
            args = [json.dumps(value)]
        await self.sio.emit(
            "event",
            {
                "id": int(element_id),
                "client_id": self.client_id,
                "listener_id": listener["listener_id"],
                "args": args,
            },
        )


async def _shut(sio: Any) -> None:
    """Disconnect a socket or stop its reconnecting, whatever state it is in."""
    if sio is None:
        return
    # A reconnect task cancelled elsewhere re-raises CancelledError here.
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(sio.shutdown(), 10)


class PageError(RuntimeError):
    """A page load failed (error status, or its socket was refused)."""


@dataclass(slots=True)
class Browser:
    """The one browser (cookie jar) all tabs share, and its logins."""

    http: aiohttp.ClientSession
    base: str
    logins: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def log_in(self) -> None:
        """Log in through the UI."""
        await ui_login(self.http, self.base)
        self.logins += 1

    async def log_in_again(self, *, seen: int) -> None:
        """Log in once more, unless another tab did since ``seen``."""
        async with self.lock:
            if self.logins == seen:
                await self.log_in()


async def ui_login(http: aiohttp.ClientSession, base: str) -> None:
    """Log the browser session (``http``'s cookie jar) in through ``/login``."""
    tab = Tab(http, base, keep_elements=True)
    try:
        await tab.open("/login?next=%2F", wait_for={"email", "password", "login"})
        await tab.emit_event("email", "update:value", ADMIN_EMAIL)
        await tab.emit_event("password", "update:value", ADMIN_PASSWORD)
        await tab.emit_event("login", "click")
        try:
            path = await asyncio.wait_for(tab.opened.get(), timeout=30)
        except TimeoutError:
            raise RuntimeError(f"login did not navigate; notes: {tab.notes}") from None
        if not path.startswith("/login/complete?"):
            raise RuntimeError(f"login navigated to {path!r}; notes: {tab.notes}")
    finally:
        await tab.close()
    # What the browser does next: the login completes over HTTP, which gives
    # the cookie jar the new session id.
    async with http.get(base + path, allow_redirects=False) as completed:
        if completed.headers.get("Location") != "/":
            raise RuntimeError(f"login did not complete: {completed.status}")


# --- probes ------------------------------------------------------------------------


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


class SocketLog(logging.Handler):
    """Collects what the Engine.IO clients log about lost connections."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.reasons: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "abort" in message or "closed" in message:
            self.reasons[re.sub(r"\"[^\"]*\"", '"…"', message)] += 1


SOCKET_LOG = SocketLog()
ENGINEIO_LOG = logging.getLogger("bench.fanout.engineio")
ENGINEIO_LOG.setLevel(logging.INFO)
ENGINEIO_LOG.addHandler(SOCKET_LOG)
ENGINEIO_LOG.propagate = False


# --- measuring ----------------------------------------------------------------------


@dataclass(slots=True)
class Stage:
    """The figures of one N."""

    clients: int
    connect_wall_s: float = 0.0
    connect_ms: list[float] = field(default_factory=list)
    baseline_kib: int = 0
    rss_kib: int = 0
    latency_ms: list[float] = field(default_factory=list)  # every (client, round)
    last_ms: list[float] = field(default_factory=list)  # per round, slowest client
    first_ms: list[float] = field(default_factory=list)  # per round, fastest client
    http_ms: list[float] = field(default_factory=list)  # POST duration
    missing: int = 0  # (client, round) pairs that never arrived
    server_cpu_ms: float = 0.0  # per round (the flash ends in the browser)
    driver_cpu_ms: float = 0.0  # per round
    connect_cpu_ms: float = 0.0  # server CPU per tab opened in this stage
    # Trouble while this stage's tabs connected and during its rounds (all tabs):
    drops: int = 0  # socket connections lost (then reconnected, like a browser)
    reloads: int = 0  # page reloads because the server had deleted the client
    page_errors: int = 0  # page GETs answered with an error (then retried)
    logouts: int = 0  # page GETs sent to /login (then logged in again)
    load: str = ""  # load average when the rounds started
    # Worst loop lag of this driver / worst server liveness round trip (ms),
    # while this stage's tabs connected and during its rounds.
    driver_lag_connect_ms: float = 0.0
    server_lag_connect_ms: float = 0.0
    driver_lag_rounds_ms: float = 0.0
    server_lag_rounds_ms: float = 0.0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The server's full garbage collections (ms each), connecting / in rounds.
    gc_connect_ms: list[float] = field(default_factory=list)
    gc_rounds_ms: list[float] = field(default_factory=list)
    # This driver's own full collections of 20 ms or more in the rounds.
    driver_gc_rounds_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def mib_per_client(self) -> float:
        """RSS growth over the baseline, per connected client."""
        return (self.rss_kib - self.baseline_kib) / 1024 / self.clients

    def pct(self, samples: Sequence[float], p: float) -> float:
        """Percentile, or NaN without samples."""
        return percentile(samples, p) if samples else float("nan")


def card_test_id(item_id: str) -> str:
    return f"card-{item_id}"


def column_test_id(column: str) -> str:
    """The test id of a column element (``slug`` of itemhub.ui.components.cards)."""
    return "column-" + "".join(c if c.isalnum() else "-" for c in column.lower())


OPS_QUEUE = "__itemhub_ops"  # itemhub.ui.components.board_column.OPS_QUEUE
OPS_PUSH = re.compile(r"\.push\(\[(\d+),")


def parse_operations(code: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(column element id, operations) of each push in a ``send_operations`` code."""
    decoder = json.JSONDecoder()
    for found in OPS_PUSH.finditer(code):
        ops, _ = decoder.raw_decode(code, found.end())
        yield found.group(1), ops


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


@dataclass(slots=True)
class Run:
    """Everything measured."""

    machine: dict[str, Any]
    rounds: int
    gap: float
    concurrency: int
    stages: list[Stage]
    login_s: float = 0.0
    elements: int = 0  # NiceGUI elements of one board tab
    setup_s: float = 0.0
    total_s: float = 0.0
    notes: list[str] = field(default_factory=list)


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


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"


def _ok(met: bool) -> str:
    return "met" if met else "missed"


def _failed(s: Stage) -> bool:
    return s.error is not None and not s.latency_ms


LATENCY_HEADERS = [
    "N",
    "p50 ms",
    "p99 ms",
    "first p50",
    "last p50",
    "last p99",
    "last max",
    "missing",
    "RSS +MiB",
    "MiB/client",
]


def latency_rows(run: Run) -> list[list[str]]:
    """The targets' table: latency and memory per N."""
    rows = []
    for s in run.stages:
        if _failed(s):
            rows.append([str(s.clients), "failed", *["-"] * 8])
            continue
        rows.append(
            [
                str(s.clients),
                _ms(s.pct(s.latency_ms, 50)),
                _ms(s.pct(s.latency_ms, 99)),
                _ms(s.pct(s.first_ms, 50)),
                _ms(s.pct(s.last_ms, 50)),
                _ms(s.pct(s.last_ms, 99)),
                _ms(max(s.last_ms, default=float("nan"))),
                f"{s.missing} of {s.clients * run.rounds}",
                f"{(s.rss_kib - s.baseline_kib) / 1024:,.0f}",
                f"{s.mib_per_client:.2f}",
            ]
        )
    return rows


COST_HEADERS = [
    "N",
    "tabs added",
    "connect wall s",
    "connect p50 ms",
    "srv CPU ms/open",
    "POST p50 ms",
    "srv CPU ms/cmd",
    "driver CPU ms/cmd",
    "lost / reloads / 500s / logouts",
    "worst lag driver / server ms",
    "full GCs, worst ms",
    "load avg",
]


def cost_rows(run: Run) -> list[list[str]]:
    """What it cost: opening tabs, and each command."""
    rows = []
    previous = 0
    for s in run.stages:
        added = s.clients - previous
        previous = s.clients
        connected = s.connect_wall_s > 0
        rows.append(
            [
                str(s.clients),
                str(added),
                f"{s.connect_wall_s:,.1f}" if connected else "failed",
                _ms(s.pct(s.connect_ms, 50)),
                f"{s.connect_cpu_ms:,.0f}" if connected else "-",
                _ms(s.pct(s.http_ms, 50)),
                f"{s.server_cpu_ms:,.0f}" if s.http_ms else "-",
                f"{s.driver_cpu_ms:,.0f}" if s.http_ms else "-",
                f"{s.drops} / {s.reloads} / {s.page_errors} / {s.logouts}",
                f"{max(s.driver_lag_connect_ms, s.driver_lag_rounds_ms):,.0f} / "
                f"{max(s.server_lag_connect_ms, s.server_lag_rounds_ms):,.0f}",
                f"{len(s.gc_connect_ms + s.gc_rounds_ms)}, "
                f"{max(s.gc_connect_ms + s.gc_rounds_ms, default=0):,.0f}",
                s.load or "-",
            ]
        )
    return rows


def console_tables(run: Run) -> list[Table]:
    """The rich tables."""
    latency = Table(
        title=(
            f"Move → update at N board tabs, {run.rounds} rounds "
            "(p50/p99: every tab and round; last: slowest tab of a round)"
        )
    )
    cost = Table(title="Cost of opening tabs and of one command")
    for table, headers, rows in (
        (latency, LATENCY_HEADERS, latency_rows(run)),
        (cost, COST_HEADERS, cost_rows(run)),
    ):
        for h in headers:
            table.add_column(h, justify="right")
        for row in rows:
            table.add_row(*row)
    return [latency, cost]


def md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---:|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def verdicts(run: Run) -> list[str]:
    """The two targets, judged on what was measured."""
    lines = []
    at = next(
        (s for s in run.stages if s.clients == P99_TARGET_N and s.latency_ms), None
    )
    if at is None:
        lines.append(
            f"- p99 <= {P99_TARGET_MS:.0f} ms at {P99_TARGET_N} clients: not measured"
        )
    else:
        p99 = at.pct(at.latency_ms, 99)
        last = at.pct(at.last_ms, 99)
        lines.append(
            f"- p99 <= {P99_TARGET_MS:.0f} ms at {P99_TARGET_N} clients: "
            f"**{_ok(p99 <= P99_TARGET_MS)}** over every (client, round) "
            f"({p99:,.0f} ms); **{_ok(last <= P99_TARGET_MS)}** for the last client "
            f"of each round ({last:,.0f} ms)"
        )
    measured = [s for s in run.stages if s.rss_kib]
    if measured:
        worst = max(measured, key=lambda s: s.mib_per_client)
        big = [s for s in measured if s.clients >= P99_TARGET_N] or measured
        lines.append(
            f"- <= {MIB_TARGET:.0f} MiB per connected board client: "
            f"**{_ok(all(s.mib_per_client <= MIB_TARGET for s in big))}** "
            f"(N >= {big[0].clients}: "
            + ", ".join(f"{s.mib_per_client:.2f} MiB at N={s.clients}" for s in big)
            + f"; worst of all stages {worst.mib_per_client:.2f} MiB at "
            f"N={worst.clients})"
        )
    return lines


PING_TIMEOUT_S = 2.0  # NiceGUI 3.18: max(0.4 * reconnect_timeout, 2)
PING_INTERVAL_S = 4.0  # NiceGUI 3.18: max(0.8 * reconnect_timeout, 4)
RESPONSE_TIMEOUT_S = 3.0  # @ui.page's default response_timeout


def findings(run: Run) -> list[str]:
    """What the figures say, computed from this run."""
    done = [s for s in run.stages if s.latency_ms]
    if not done:
        return ["No stage completed."]
    out = []
    small, big = done[0], done[-1]
    if big.clients > small.clients:
        per_client = (big.server_cpu_ms - small.server_cpu_ms) / (
            big.clients - small.clients
        )
        out.append(
            f"Fan-out is serial on the server's one event loop: each command "
            f"costs about {per_client:.1f} ms of server CPU per open board tab "
            f"({small.server_cpu_ms:,.0f} ms at N={small.clients}, "
            f"{big.server_cpu_ms:,.0f} ms at N={big.clients}; the change and "
            "its flash, whose end the browser handles; this also counts the "
            "tabs' acks and NiceGUI's idle outbox wake-ups between rounds). The "
            f"*first* tab has the change at p50 {big.pct(big.first_ms, 50):,.0f} "
            f"ms, the last at {big.pct(big.last_ms, 50):,.0f} ms (N={big.clients})"
            ": the change "
            "feed calls every tab's `BoardView.apply` in one loop callback before "
            "any outbox sends, and the POST's own response waits behind it too "
            f"(POST p50 {small.pct(small.http_ms, 50):,.0f} ms at "
            f"N={small.clients}, {big.pct(big.http_ms, 50):,.0f} ms at "
            f"N={big.clients}), so the REST API slows down for everyone as "
            "viewers grow."
        )
    if run.elements:
        kib = big.mib_per_client * 1024  # largest N: least noise
        out.append(
            f"Memory is about {kib:,.0f} KiB per board tab at N={big.clients} "
            f"({min(s.mib_per_client for s in done):.2f}-"
            f"{max(s.mib_per_client for s in done):.2f} MiB over the stages). A "
            f"tab of {CARDS} cards is {run.elements:,} NiceGUI elements: a column "
            "is one element (`board_column.js`) and its cards are data, one "
            "shared `CardJson` per item state that every tab references, so a "
            "tab costs its elements plus a pointer per card, not an element "
            "(about 5 KiB in NiceGUI) per card."
        )
    worst = [
        (max(s.gc_connect_ms + s.gc_rounds_ms, default=0.0), s)
        for s in run.stages
        if s.gc_connect_ms or s.gc_rounds_ms
    ]
    over = [(ms, s) for ms, s in worst if ms > PING_TIMEOUT_S * 1000]
    if not worst:
        out.append(
            "No full garbage collection of 20 ms or more in any stage (the "
            "serving process raises the collector's thresholds, app.tune_gc)."
        )
    else:
        out.append(
            "Full garbage collections stop the server's loop for longer as tabs "
            "accumulate (worst per stage: "
            + ", ".join(f"{ms:,.0f} ms at N={s.clients}" for ms, s in worst)
            + "), because a full collection walks every element of every open tab."
            + (
                f" Beyond NiceGUI's Engine.IO ping timeout ({PING_TIMEOUT_S:.0f} s "
                f"after a ping sent every {PING_INTERVAL_S:.0f} s) such a pause "
                "makes the server close sockets whose pong it could not read, and "
                "the clients give up on a server silent for 6 s: connections lost "
                + ", ".join(f"{s.drops} at N={s.clients}" for _, s in over)
                + " (then reconnected, with replay; a tab gone longer than the 3 s "
                "reconnect timeout is deleted and its page reloads). A page opened "
                f"during such a pause cannot reach `await client.connected()` within "
                f"the page's {RESPONSE_TIMEOUT_S:.0f} s response timeout and is "
                "answered with NiceGUI's 500 page (counted as 500s above)."
                if over
                else ""
            )
        )
    driver = [s for s in run.stages if s.driver_gc_rounds_ms]
    out.append(
        "The load driver's own full garbage collections during the rounds "
        "(they delay the timing of every tab): "
        + (
            ", ".join(
                f"{len(s.driver_gc_rounds_ms)} at N={s.clients} (worst "
                f"{max(s.driver_gc_rounds_ms):,.0f} ms)"
                for s in driver
            )
            if driver
            else "none of 20 ms or more"
        )
        + "; the driver freezes its heap (`gc.freeze`) before each stage's rounds."
    )
    logouts = [s for s in run.stages if s.logouts]
    if logouts:
        out.append(
            "The browser was logged out under load ("
            + ", ".join(f"{s.logouts} redirects at N={s.clients}" for s in logouts)
            + "). A page NiceGUI cancels (past its "
            f"{RESPONSE_TIMEOUT_S:.0f} s response timeout) no longer closes the "
            "session (`itemhub.ui.session.in_thread` raises instead of returning "
            "None), so these redirects need another explanation."
        )
    return out


def markdown(run: Run) -> str:
    """bench/results/fanout.md."""
    m = run.machine
    out = [
        "# Live-board fan-out",
        "",
        f"Measured {m['date']} with `.venv/bin/python -m bench.fanout` "
        f"({'quick' if m['quick'] else 'full'} run, {run.total_s:.0f} s).",
        "",
        f"- Machine: {m['cores']} cores, {m['memory']}, {m['platform']}; "
        f"load average {m['load_average']} before, {m['load_average_after']} after "
        "(the load average also counts the bench's own server and driver)",
        f"- Python {m['python']}, NiceGUI {m['nicegui']}, python-socketio "
        f"{m['socketio']}, aiohttp {m['aiohttp']}",
        f"- Server: one `python -m itemhub serve` process, SQLite in a temp dir, "
        f"log level WARNING; board of {CARDS} cards in {len(COLUMNS)} columns "
        "(every client is the admin superuser and sees all of them)",
        f"- {run.rounds} rounds per N, {run.gap:.1f} s apart; each round is "
        "`POST /api/v1/items/{id}/move` to the top of the next column, sent by a "
        "second superuser",
        "",
        "## Figures",
        "",
        *md_table(LATENCY_HEADERS, latency_rows(run)),
        "",
        "- **p50 / p99 ms**: over every (client, round) pair, from just before the "
        "HTTP request to the moment the message that puts the card into the target "
        "column (the card operations of `send_operations`; after a reload, the "
        "column element showing it there) was handed to that client's handler.",
        "- **first p50**: per round, the fastest client.",
        "- **last p50 / p99 / max**: per round, the slowest client, i.e. the time "
        f"until *all* N clients have the change; with {run.rounds} rounds, its "
        "p99 is in effect the maximum.",
        "- **missing**: (client, round) pairs whose change did not arrive within "
        "the round timeout (10 s + 50 ms per client) or whose socket was closed.",
        "- **RSS +MiB / MiB per client**: server VmRSS after the N clients had "
        "connected and settled (5 s, so every client had acked and NiceGUI's "
        "message history was pruned), minus the baseline, divided by N. The "
        "baseline was read after one warm-up tab had opened the board and been "
        "deleted again (so first-use costs are not charged to the clients)"
        + (
            f"; one board tab holds {run.elements:,} NiceGUI elements (a column "
            "is one element; its cards are data)."
            if run.elements
            else "."
        ),
        "",
        *md_table(COST_HEADERS, cost_rows(run)),
        "",
        "- **connect wall s / p50 ms**: adding this stage's tabs, "
        f"{run.concurrency} at a time; per tab, `GET /` → socket connected → all "
        f"{CARDS} cards received.",
        "- **srv CPU ms/open**: server user+system CPU while this stage's tabs "
        "opened, per tab (the presence row is re-sent to the open tabs only when "
        "the set of distinct viewers changes; here every tab is the same admin).",
        "- **POST p50**: duration of the move request itself (it returns once the "
        "read model has the change).",
        "- **srv / driver CPU ms/cmd**: CPU of the server and of this load driver "
        "per round (the card's flash is ended by the browser, so there is no "
        "second, flash-off update).",
        "- **lost / reloads / 500s / logouts**: socket connections the tabs lost "
        "without closing them (each then reconnected like socket.io-client, and "
        "NiceGUI replayed the missed messages), page reloads because the server "
        "had already deleted the client, page GETs answered with an error "
        "(retried after 1 s, as a user would), and page GETs redirected to "
        "`/login` because the browser's session had been closed (the bench then "
        "logs in again through the UI, once for all tabs, and retries), while "
        "the stage's tabs connected and during its rounds. All should be 0.",
        "- **worst lag driver / server ms**: the worst wake-up delay of a 50 ms "
        "sleep in this driver's event loop, and the worst round trip of the "
        "server's `async` liveness endpoint `GET /api/v1/health` polled every "
        "0.2 s from a separate thread (it answers on the server's event loop, so "
        "it shows how long the loop was blocked).",
        "- **full GCs, worst ms**: the server's generation-2 garbage collections "
        "of 20 ms or more in the stage and the longest one, timed by a "
        "`gc.callbacks` hook the bench adds to the server process (the one "
        "change to the server as deployed; it only reads the clock). A full "
        "collection stops the event loop, and it walks every live object: "
        "every element of every open tab.",
        "- **load avg**: 1-minute load average when the stage's rounds began.",
        "",
        "## Targets",
        "",
        *verdicts(run),
        "",
        "## Findings",
        "",
        *[f"- {f}" for f in findings(run)],
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in run.notes],
        "",
        "![latency against N](../fanout.png)",
        "",
    ]
    return "\n".join(out)


def plot(run: Run, path: Path) -> None:
    """bench/fanout.png: latency (and memory) against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    stages = [s for s in run.stages if s.latency_ms]
    n = [s.clients for s in stages]
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, values, style in (
        ("p50, every client", [s.pct(s.latency_ms, 50) for s in stages], "o-"),
        ("p99, every client", [s.pct(s.latency_ms, 99) for s in stages], "s-"),
        ("p99, last client of a round", [s.pct(s.last_ms, 99) for s in stages], "^--"),
    ):
        lat.plot(n, values, style, label=label)
    lat.axhline(P99_TARGET_MS, color="red", linewidth=0.8, linestyle=":")
    lat.annotate(
        f"target: p99 <= {P99_TARGET_MS:.0f} ms at N={P99_TARGET_N}",
        (n[0] if n else 1, P99_TARGET_MS),
        xytext=(4, 4),
        textcoords="offset points",
        color="red",
        fontsize=8,
    )
    lat.set_xscale("log")
    lat.set_yscale("log")
    lat.set_xticks(n, [str(x) for x in n])
    lat.yaxis.set_major_formatter(ScalarFormatter())
    lat.yaxis.set_minor_formatter(NullFormatter())
    lat.xaxis.set_minor_formatter(NullFormatter())
    lat.set_xlabel("connected board clients N")
    lat.set_ylabel("move → change received (ms)")
    missed = [s.clients for s in run.stages if not s.latency_ms]
    lat.set_title(
        "Fan-out latency"
        + (f" (N={', '.join(map(str, missed))}: not reached)" if missed else "")
    )
    lat.grid(True, which="both", alpha=0.3)
    lat.legend()
    mem.plot(n, [s.mib_per_client for s in stages], "o-", color="tab:purple")
    mem.axhline(MIB_TARGET, color="red", linewidth=0.8, linestyle=":")
    mem.annotate(
        f"target {MIB_TARGET:.0f} MiB",
        (n[0] if n else 1, MIB_TARGET),
        xytext=(4, 4),
        textcoords="offset points",
        color="red",
        fontsize=8,
    )
    mem.set_xscale("log")
    mem.set_xticks(n, [str(x) for x in n])
    mem.xaxis.set_minor_formatter(NullFormatter())
    mem.set_xlabel("connected board clients N")
    mem.set_ylabel("server RSS growth / N (MiB)")
    mem.set_title(f"Memory per board client ({CARDS} cards)")
    mem.set_ylim(bottom=0)
    mem.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"ItemHub live board, {run.machine['cores']} cores, server and load "
        f"driver on one machine ({run.machine['date']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine(quick: bool) -> dict[str, Any]:
    """What the figures were measured on."""
    import nicegui

    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "cores": os.cpu_count(),
        "memory": f"{pages / 2**30:.0f} GiB RAM",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nicegui": nicegui.__version__,
        "socketio": _version("python-socketio"),
        "aiohttp": aiohttp.__version__,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def standard_notes(run: Run, concurrency: int, sizes: Sequence[int]) -> list[str]:
    """The caveats every run has."""
    return [
        "The load driver (this script: every Socket.IO client in one asyncio loop) "
        f"and the server share the {run.machine['cores']} cores, so at large N the "
        "driver's own work (receiving and JSON-decoding N messages per "
        "round) is part of the measured time, and other jobs on the machine add "
        "noise.",
        "Clients are added stage by stage to one server ("
        + ", ".join(
            f"+{b - a}" if a else str(b)
            for a, b in zip([0, *sizes], sizes, strict=False)
        )
        + "); the rounds of a stage run with all of its clients connected. "
        f"Tabs connect {concurrency} at a time.",
        "Each client mirrors nicegui.js and socket.io-client: the page's `query` "
        "object (parsed with `ast.literal_eval`) plus a fresh `document_id` per "
        "page load, one `tab_id` per tab and `old_tab_id=null` in the connect "
        "query; WebSocket transport; implicit handshake; duplicate message ids "
        "dropped; `ack` every 3 s; an answer to `run_javascript` requests; "
        "automatic reconnection with the current `next_message_id`; a page "
        "reload when the server has deleted the client. It renders nothing, so "
        "a browser's DOM work is not included.",
        "One browser session logged in through the `/login` page (the client "
        "filled the e-mail and password inputs and clicked *Log in* over the "
        "socket, like Chromium); every tab shares its `session` cookie and did "
        "its own `GET /`.",
        "The command comes from a second superuser, so each board also flashes "
        'the card ("changed by …"; the browser ends the flash 2.5 s later, no '
        f"server message); rounds are {run.gap:.1f} s apart (from the last tab's "
        "update to the next command), as in earlier runs, so runs compare.",
        f"Setup: server start + {CARDS} cards through the REST API "
        f"{run.setup_s:.1f} s; UI login {run.login_s:.1f} s.",
        "The server is `python -c <hook> serve --port …`, where the hook adds the "
        "`gc.callbacks` timer and then runs the `itemhub` package as `__main__`, "
        "exactly what `python -m itemhub serve` runs.",
    ]


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


def report(run: Run, *, write: bool) -> None:
    """Print the tables; write the markdown and the plot if asked."""
    console.print()
    for table in console_tables(run):
        console.print(table)
    for line in verdicts(run):
        console.print(line.replace("**", ""), highlight=False)
    console.print(f"total {run.total_s:.0f}s")
    if write and run.stages:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(markdown(run))
        plot(run, PLOT)
        log(f"wrote {RESULTS.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


def load_run(path: Path) -> Run:
    """A run saved with ``--json``."""
    data = json.loads(path.read_text())
    data["stages"] = [Stage(**stage) for stage in data["stages"]]
    return Run(**data)


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
