"""Command load and event-store checks shared by the cluster fault tests.

A ``CommandLoad`` thread sends commands through one instance at a steady rate:
it creates items and moves them (each item has one writer, this thread), and
retries a command that failed with a 5xx or a transport error under the same
``Idempotency-Key`` for up to ``RETRY_FOR`` seconds, as a careful client
would. Every acknowledged (2xx) command is recorded with the command id the
server derives from the key, so ``lost_acknowledged`` can find its exact event
in the store afterwards.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

import httpx
import pytest

from itemhub.config import parse_database_url
from itemhub.events import NAMESPACE
from itemhub.eventstore import open_store
from tests.cluster.conftest import cluster_env, run_cli
from tests.e2e.server import Server

API = "/api/v1"
COLUMNS = ("Backlog", "Todo", "Doing", "Done")  # the default ITEMHUB_BOARD_COLUMNS
# Longer than anything the server may take (event store retries + the 10 s
# read-your-writes wait), so no attempt is abandoned while the server works.
REQUEST_TIMEOUT = 30.0
RETRY_PAUSE = 0.2
# A client keeps retrying a failed command this long (then gives up on it).
RETRY_FOR = 30.0

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], timeout: float, what: str
) -> tuple[T, float]:
    """Poll ``condition`` until it returns a value; (value, seconds it took)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value, time.monotonic() - started
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        # Another process changes what is polled; nothing here can be signalled.
        time.sleep(0.05)


def projection_states(server: Server) -> dict[str, str] | None:
    """Each projection's state on ``server`` (None while it cannot answer)."""
    try:
        response = httpx.get(f"{server.url}{API}/health/ready", timeout=5)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(body, dict) or not body.get("projections"):
        return None
    return {str(p["name"]): str(p["state"]) for p in body["projections"]}


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d |[A-Z]+: )")  # ours, uvicorn's


def logged_exceptions(server: Server) -> Counter[str]:
    """The exceptions ``server`` logged with a traceback (the last of a chain)."""
    found: Counter[str] = Counter()
    last: str | None = None  # the exception of the traceback being read
    in_traceback = after_frame = False
    for line in [*server.output, "0000-00-00 end\n"]:
        if LOG_LINE.match(line):
            if last is not None:
                found[last] += 1
            last, in_traceback = None, False
        elif line.startswith("Traceback (most recent call last)"):
            in_traceback, after_frame = True, False
        elif in_traceback and line.startswith("  File "):
            after_frame = True
        elif in_traceback and after_frame and line.strip() and not line[0].isspace():
            last, after_frame = line.strip()[:300], False
    return found


def one_leader_each(servers: Sequence[Server]) -> dict[str, str] | None:
    """Which server runs each projection, if all are ready and each projection
    runs on exactly one of them while the others follow it (standby)."""
    leaders: dict[str, str] = {}
    for server in servers:
        try:
            response = httpx.get(f"{server.url}{API}/health/ready", timeout=5)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        for p in response.json()["projections"]:
            if p["state"] == "running":
                if p["name"] in leaders:
                    return None
                leaders[p["name"]] = server.url
            elif p["state"] != "standby":
                return None
    names = {p["name"] for p in response.json()["projections"]}
    return leaders if set(leaders) == names else None


def states_are(server: Server, state: str) -> dict[str, str] | None:
    """The states on ``server`` if every projection is in ``state``."""
    states = projection_states(server)
    if states and all(s == state for s in states.values()):
        return states
    return None


def user_id(server: Server, bearer: str) -> UUID:
    """The id of the bearer's user."""
    response = httpx.get(
        f"{server.url}{API}/users/me",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    response.raise_for_status()
    return UUID(response.json()["id"])


@dataclass(frozen=True, slots=True)
class Ack:
    """A command the API acknowledged with 2xx."""

    via: str
    action: str  # "created" or "moved"
    item_id: UUID
    version: int  # the item's version in the response
    command_id: UUID  # derived from the user and the Idempotency-Key
    attempts: int
    at: float  # time.monotonic() of the acknowledgement
    took: float  # seconds from the first attempt to the acknowledgement


@dataclass(frozen=True, slots=True)
class Failure:
    """One attempt that failed (then retried with the same key)."""

    via: str
    what: str
    at: float


class CommandLoad:
    """A thread creating and moving its own items through one instance."""

    def __init__(
        self,
        server: Server,
        bearer: str,
        *,
        via: str,
        actor_id: UUID,
        period: float = 0.05,
        items: int = 8,
    ) -> None:
        self.server = server
        self.bearer = bearer
        self.via = via
        self.actor_id = actor_id
        self.period = period
        self.items = items
        self.acks: list[Ack] = []
        self.failures: list[Failure] = []  # failed attempts
        self.given_up: list[str] = []  # commands failing for RETRY_FOR
        self.abandoned: list[str] = []  # still failing when the load stopped
        self.rejected: list[str] = []  # 4xx answers: never expected here
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._rng = random.Random(via)
        self._thread = threading.Thread(
            target=self._run, name=f"command-load-{via}", daemon=True
        )

    # --- control ----------------------------------------------------------------

    def start(self) -> CommandLoad:
        """Start sending."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the command in flight (its retries are abandoned)."""
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT + 5)
        if self._thread.is_alive():
            pytest.fail(f"command load through {self.via} did not stop")

    def acknowledged(self) -> int:
        """How many commands were acknowledged so far."""
        with self._cond:
            return len(self.acks)

    def wait_for_acks(self, count: int, timeout: float) -> None:
        """Block until ``count`` commands in all were acknowledged."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.acks) >= count, timeout):
                pytest.fail(
                    f"only {len(self.acks)} of {count} commands through {self.via} "
                    f"acknowledged within {timeout}s; last failures: "
                    f"{[f.what for f in self.failures[-5:]]}; "
                    f"rejected: {self.rejected[-5:]}"
                )

    # --- the loop -----------------------------------------------------------------

    def _run(self) -> None:
        with httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.bearer}"},
            timeout=REQUEST_TIMEOUT,
        ) as http:
            mine: dict[UUID, int] = {}  # item -> index of its column
            n = 0
            next_at = time.monotonic()
            # A steady rate: one command per period (no catch-up burst after
            # a slow one).
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                next_at = max(next_at + self.period, time.monotonic())
                n += 1
                if len(mine) < self.items or n % 5 == 0:
                    body: dict[str, Any] = {
                        "title": f"{self.via} #{n}",
                        "column": COLUMNS[n % len(COLUMNS)],
                    }
                    answer = self._command(http, "created", "POST", "/items", body)
                    if answer is not None:
                        mine[UUID(answer["id"])] = n % len(COLUMNS)
                    continue
                item_id = self._rng.choice(list(mine))
                column = (mine[item_id] + 1) % len(COLUMNS)
                body = {"column": COLUMNS[column], "position": 0}
                answer = self._command(
                    http, "moved", "POST", f"/items/{item_id}/move", body
                )
                if answer is not None:
                    mine[item_id] = column

    def _command(
        self,
        http: httpx.Client,
        action: str,
        method: str,
        path: str,
        body: dict[str, Any],
    ) -> dict[str, Any] | None:
        key = uuid4().hex
        what = f"{method} {path}"
        started = time.monotonic()
        attempt = 0
        while time.monotonic() - started < RETRY_FOR:
            attempt += 1
            if attempt > 1 and self._stop.wait(RETRY_PAUSE):
                self.abandoned.append(what)
                return None
            try:
                response = http.request(
                    method, f"{API}{path}", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError as exc:
                self._failed(f"{what}: {type(exc).__name__}: {exc}")
                continue
            if response.is_success:
                answer: dict[str, Any] = response.json()
                ack = Ack(
                    via=self.via,
                    action=action,
                    item_id=UUID(answer["id"]),
                    version=int(answer["version"]),
                    command_id=uuid5(NAMESPACE, f"idempotency:{self.actor_id}:{key}"),
                    attempts=attempt,
                    at=time.monotonic(),
                    took=time.monotonic() - started,
                )
                with self._cond:
                    self.acks.append(ack)
                    self._cond.notify_all()
                return answer
            if response.status_code < 500:
                self.rejected.append(
                    f"{what}: {response.status_code} {response.text[:200]}"
                )
                return None
            self._failed(f"{what}: {response.status_code} {response.text[:200]}")
        self.given_up.append(what)
        return None

    def _failed(self, what: str) -> None:
        with self._cond:
            self.failures.append(Failure(self.via, what, time.monotonic()))


# --- the event store ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What the checks need of one stored item event."""

    version: int
    kind: str  # the event class: Created, Moved, ...
    command_id: UUID
    correlation_id: UUID
    column: str | None


def stored_item_events(
    database_url: str, item_ids: Iterable[UUID]
) -> dict[UUID, list[StoredEvent]]:
    """Every stored event of each item, read with the eventsourcing application."""
    app = open_store(parse_database_url(database_url), create_table=False)
    try:
        found: dict[UUID, list[StoredEvent]] = {}
        for item_id in set(item_ids):
            found[item_id] = [
                StoredEvent(
                    version=event.originator_version,
                    kind=type(event).__name__,
                    command_id=getattr(event, "command_id"),  # noqa: B009
                    correlation_id=getattr(event, "correlation_id"),  # noqa: B009
                    column=getattr(event, "column", None),
                )
                for event in app.events.get(item_id)
            ]
        return found
    finally:
        app.close()


def gaps(stored: dict[UUID, list[StoredEvent]]) -> list[str]:
    """Items whose versions are not exactly 1, 2, ..., n."""
    return [
        f"item {item_id}: versions {[e.version for e in events]}"
        for item_id, events in stored.items()
        if [e.version for e in events] != list(range(1, len(events) + 1))
    ]


KIND_OF_ACTION = {"created": "Created", "moved": "Moved"}


def lost_acknowledged(
    acks: Iterable[Ack], stored: dict[UUID, list[StoredEvent]]
) -> list[str]:
    """Acknowledged commands without exactly one matching event in the store."""
    problems = []
    for ack in acks:
        matching = [
            e for e in stored.get(ack.item_id, []) if e.command_id == ack.command_id
        ]
        if len(matching) != 1:
            problems.append(f"{ack}: {len(matching)} events with its command id")
            continue
        (event,) = matching
        if event.version != ack.version or event.kind != KIND_OF_ACTION[ack.action]:
            problems.append(f"{ack}: stored as {event}")
    return problems


def check_nothing_lost(
    loads: Sequence[CommandLoad],
    database_url: str,
    cwd: Path,
    report: Callable[[str], None],
) -> None:
    """Report the failures; assert every acknowledged command is stored once
    and every read model equals a replay of the log (``itemhub verify``)."""
    acks = [a for load in loads for a in load.acks]
    failures = [f for load in loads for f in load.failures]
    report(
        f"failed attempts (then retried with the same key): {len(failures)}"
        + "".join(f"\n    {f.via}: {f.what}" for f in failures[:10])
        + (f"\n    ... {len(failures) - 10} more" if len(failures) > 10 else "")
    )
    given_up = [g for load in loads for g in load.given_up]
    abandoned = [g for load in loads for g in load.abandoned]
    rejected = [r for load in loads for r in load.rejected]
    report(
        f"commands given up after {RETRY_FOR:.0f} s of retries: {len(given_up)}; "
        f"still failing when the load stopped: {len(abandoned)}; "
        f"rejected (4xx): {len(rejected)}"
    )
    retried = [a for a in acks if a.attempts > 1]
    slowest = max(a.took for a in acks)
    report(
        f"{len(acks)} acknowledged, {len(retried)} of them only after a retry; "
        f"slowest acknowledgement {slowest * 1000:.0f} ms"
    )
    assert not rejected, rejected
    # Every command succeeds in the end: the instances recover by themselves.
    assert not given_up, given_up
    stored = stored_item_events(database_url, (a.item_id for a in acks))
    assert not gaps(stored)
    assert not lost_acknowledged(acks, stored)
    # Every read model equals a replay from position 0 (exit code 1 otherwise).
    verified = run_cli(cwd, cluster_env(database_url), "verify")
    report("verify: " + "; ".join(verified.strip().splitlines()))
