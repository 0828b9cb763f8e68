"""A NiceGUI browser tab in Python: page parsing, the Socket.IO client, login."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import socketio  # type: ignore[import-untyped]
from rich.console import Console

SOCKET_PATH = "/_nicegui_ws/socket.io"

ADMIN_EMAIL = "admin@example.com"

ADMIN_PASSWORD = "bench-admin-password"

ACK_SECONDS = 3.0  # nicegui.js: setInterval(() => ack(), 3000)

console = Console()
if not console.is_terminal:
    console = Console(width=140)


def log(message: str) -> None:
    """A progress line."""
    console.print(message, highlight=False)


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
        elif event == BOARD_EVENT and isinstance(msg, dict):
            self._on_operations(msg, now)
        elif event == "run_javascript" and isinstance(msg, dict):
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

    def _on_operations(self, message: dict[str, Any], now: float) -> None:
        """A board message: card operations by column (itemhub.ui.broadcast)."""
        for name, ops in message.get("columns", {}).items():
            element_id = self.by_test_id.get(column_test_id(name), "")
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
                # A put, or a whole board (a tab checked again) that shows it.
                if element_id == self.by_test_id.get(column) and (
                    card[len("card-") :] in shown
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


def card_test_id(item_id: str) -> str:
    return f"card-{item_id}"


def column_test_id(column: str) -> str:
    """The test id of a column element (``slug`` of itemhub.ui.components.cards)."""
    return "column-" + "".join(c if c.isalnum() else "-" for c in column.lower())


BOARD_EVENT = "itemhub_board"  # itemhub.ui.components.board_column.BOARD_EVENT
