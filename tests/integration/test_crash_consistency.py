"""SIGKILL a projection worker process mid-batch, again and again: nothing is lost.

The test process writes events through the bus of a Hub that runs no workers;
a separate process (``projection_worker_process``) runs every projection
worker and is killed with SIGKILL once one of them has committed a batch since
it started but is still behind the head of the log, at a moment when the
worker is seen inside a read-model transaction, i.e. in the middle of a batch.
After every kill each read model must hold exactly the rows of the events up to
its tracking position (a batch and its position commit together), and after a
last restart every read model must be at the head and equal a replay from zero.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import func, select, text

from itemhub.commands import (
    ArchiveItem,
    ChangeProfile,
    Command,
    Context,
    CreateItem,
    DeleteItem,
    DomainError,
    EditItem,
    MoveItem,
    ReassignItem,
    RestoreItem,
)
from itemhub.events import Item, User
from itemhub.eventstore import iter_batches
from itemhub.first_superuser import ensure_first_superuser
from itemhub.projections.registry import projection_names
from itemhub.readside.replay import catch_up, differences
from itemhub.runtime import Hub
from tests.conftest import (
    FAST_HASHER,
    admin_context,
    data_dir_for,
    make_settings,
    register,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER_MODULE = "tests.integration.projection_worker_process"
# libpq reads PGAPPNAME, so the worker's PostgreSQL sessions can be told apart.
WORKER_APP_NAME = "itemhub-crash-test-worker"
SEED = 20240607
KILLS = 6
# The worker commits up to 1000 events per transaction: keep well over one
# batch behind so that every kill finds it busy with the next one.
INITIAL_EVENTS = 1500
EVENTS_PER_KILL = 200
BACKLOG = 1200
MAX_ROUNDS = 2 * KILLS
ROUND_TIMEOUT = 30.0
FINAL_TIMEOUT = 60.0
POLL = 0.02
# A position past the end of any column: the move appends.
END = 1_000_000
NAMES = projection_names()


# --- the workload -------------------------------------------------------------


@dataclass
class ItemState:
    owner_id: UUID
    archived: bool = False


@dataclass
class Workload:
    """A reproducible mix of item and user commands, sent through the bus.

    Moves go to the top or the bottom of a column only: inserting between two
    cards again and again eventually renumbers a column, and renumbering is
    not batch-independent (see test_replay_property.py), which is a different
    bug from the one this module looks for.
    """

    hub: Hub
    admin: Context
    users: list[Context]
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    items: dict[UUID, ItemState] = field(default_factory=dict)
    refused: int = 0
    created: int = 0

    @property
    def actors(self) -> list[Context]:
        return [self.admin, *self.users]

    def write(self, events: int) -> None:
        """Send commands until at least ``events`` more events are in the log."""
        target = self.hub.head() + events
        position = 0
        while position < target:
            position = max(position, self.step())

    def step(self) -> int:
        """Send one random command; returns its log position (0 if refused)."""
        roll = self.rng.random()
        visible = [i for i, s in self.items.items() if not s.archived]
        archived = [i for i, s in self.items.items() if s.archived]
        if roll < 0.35 or not visible:
            return self.create()
        item_id = self.rng.choice(visible)
        if roll < 0.60:
            column = self.rng.choice(self.hub.settings.board_columns)
            position = self.rng.choice([0, END])
            return self.send(
                MoveItem(item_id=item_id, column=column, position=position),
                self.acting_on(item_id),
            )
        if roll < 0.72:
            words = self.rng.sample(["red", "green", "blue", "big", "small"], 2)
            return self.send(
                EditItem(
                    item_id=item_id,
                    title=" ".join(words),
                    description=self.rng.choice(["", "details", "more details"]),
                ),
                self.acting_on(item_id),
            )
        if roll < 0.78:
            owner = self.rng.choice(self.actors).actor_id
            position = self.send(
                ReassignItem(item_id=item_id, owner_id=owner), self.admin
            )
            if position:
                self.items[item_id].owner_id = owner
            return position
        if roll < 0.84:
            position = self.send(ArchiveItem(item_id=item_id), self.acting_on(item_id))
            if position:
                self.items[item_id].archived = True
            return position
        if roll < 0.89 and archived:
            item_id = self.rng.choice(archived)
            position = self.send(RestoreItem(item_id=item_id), self.acting_on(item_id))
            if position:
                self.items[item_id].archived = False
            return position
        if roll < 0.94:
            target = self.rng.choice(visible + archived)
            position = self.send(DeleteItem(item_id=target), self.acting_on(target))
            if position:
                del self.items[target]
            return position
        user = self.rng.choice(self.users)
        return self.send(
            ChangeProfile(
                user_id=user.actor_id,
                full_name=f"User {self.rng.randrange(100)}",
                # A small pool: some changes collide (refused), some free an
                # address that a later change takes again.
                email=self.rng.choice(
                    [None, *(f"person{n}@example.com" for n in range(4))]
                ),
            ),
            self.rng.choice([user, self.admin]),
        )

    def create(self) -> int:
        actor = self.rng.choice(self.actors)
        self.created += 1
        result = self.hub.bus.handle(
            CreateItem(
                title=f"item {self.created}",
                description=self.rng.choice(["", "to do"]),
                column=self.rng.choice(self.hub.settings.board_columns),
                position=self.rng.choice([None, 0]),
            ),
            actor,
        )
        self.items[result.aggregate_id] = ItemState(owner_id=actor.actor_id)
        return result.position

    def acting_on(self, item_id: UUID) -> Context:
        """The item's owner, or now and then the admin."""
        owner = self.items[item_id].owner_id
        if self.rng.random() < 0.3:
            return self.admin
        return next(a for a in self.actors if a.actor_id == owner)

    def send(self, command: Command, context: Context) -> int:
        try:
            return self.hub.bus.handle(command, context).position
        except DomainError:
            self.refused += 1
            return 0


# --- what the log says the read models must hold ------------------------------


@dataclass
class LogIndex:
    """The item and user events of the log, read incrementally."""

    hub: Hub
    read_up_to: int = 0
    events: list[tuple[int, Item.Event | User.Event]] = field(default_factory=list)

    def refresh(self) -> None:
        for batch in iter_batches(self.hub.app, self.read_up_to):
            for event, position in batch:
                if isinstance(event, Item.Event | User.Event):
                    self.events.append((position, event))
            self.read_up_to = batch[-1][1]

    def activity_positions(self, upto: int) -> set[int]:
        return {p for p, _ in self.events if p <= upto}

    def live_items(self, upto: int) -> set[UUID]:
        live: set[UUID] = set()
        for p, e in self.events:
            if p <= upto and isinstance(e, Item.Created):
                live.add(e.originator_id)
            elif p <= upto and isinstance(e, Item.Deleted):
                live.discard(e.originator_id)
        return live

    def users(self, upto: int) -> set[UUID]:
        return {
            e.originator_id
            for p, e in self.events
            if p <= upto and isinstance(e, User.Registered)
        }


def positions(hub: Hub) -> dict[str, int]:
    """Every projection's committed position."""
    return {name: hub.store.tracking(name).position for name in NAMES}


def assert_rows_match_positions(hub: Hub, log: LogIndex) -> dict[str, int]:
    """Each read model holds exactly the rows of the events up to its position."""
    log.refresh()
    tables = hub.store.tables
    at = positions(hub)
    with hub.store.reader.connect() as conn:
        a = tables.activity
        count, distinct = conn.execute(
            select(func.count(), func.count(a.c.position.distinct()))
        ).one()
        activity = set(conn.execute(select(a.c.position)).scalars())
        items = set(conn.execute(select(tables.items.c.id)).scalars())
        users = set(conn.execute(select(tables.users.c.id)).scalars())
    assert count == distinct == len(activity), "duplicate activity rows"
    want = log.activity_positions(at["activity"])
    assert activity == want, (
        f"activity at {at['activity']}: "
        f"{len(want - activity)} rows lost, {len(activity - want)} extra"
    )
    want_items = log.live_items(at["items"])
    assert items == want_items, (
        f"items at {at['items']}: "
        f"{len(want_items - items)} lost, {len(items - want_items)} extra"
    )
    assert users == log.users(at["users"]), f"users at {at['users']}"
    return at


# --- the worker process -------------------------------------------------------


@dataclass
class Kill:
    """One SIGKILL: which projections had committed since the start, where all
    stood before and after, and the head of the log then."""

    moved: list[str]
    before: dict[str, int]
    at_kill: dict[str, int]
    head: int


def add_backlog(hub: Hub, workload: Workload) -> None:
    """Append events, leaving at least one projection BACKLOG events behind."""
    workload.write(EVENTS_PER_KILL)
    behind = hub.head() - min(positions(hub).values())
    if behind < BACKLOG:
        workload.write(BACKLOG - behind)


@contextmanager
def worker_process(url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A projection worker process; SIGKILLed and reaped on the way out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITEMHUB_")}
    env["PGAPPNAME"] = WORKER_APP_NAME
    env["ITEMHUB_DATA_DIR"] = str(data_dir_for(url))
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, url],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def check_worker(proc: subprocess.Popen[bytes], hub: Hub, log_path: Path) -> None:
    """Fail at once if the worker died by itself or a projection failed."""
    if proc.poll() is not None:
        pytest.fail(
            f"worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
        )
    for name in NAMES:
        error = hub.store.tracking(name).error
        if error is not None:
            pytest.fail(f"projection {name} failed: {error}")


class WriteProbe:
    """Tells whether the worker is inside a read-model transaction right now.

    SQLite: the worker begins every transaction IMMEDIATE, so while it is in
    one nobody else can begin one (a zero-timeout BEGIN IMMEDIATE fails).
    PostgreSQL: one of the worker's sessions holds a lock on a read-model
    table, which it does from its first statement until commit or rollback.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.sqlite: sqlite3.Connection | None = None
        if hub.store.is_sqlite:
            path = hub.settings.database.read_path
            assert path is not None
            self.sqlite = sqlite3.connect(path, timeout=0, isolation_level=None)

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()

    def in_transaction(self) -> bool:
        if self.sqlite is None:
            return worker_sessions(self.hub, holding_read_model_locks=True) > 0
        try:
            self.sqlite.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return True
        self.sqlite.execute("ROLLBACK")
        return False


def worker_sessions(hub: Hub, *, holding_read_model_locks: bool = False) -> int:
    """How many PostgreSQL sessions the worker has (that lock read-model tables)."""
    query = (
        "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a "
        "WHERE a.datname = current_database() AND a.application_name = :app"
    )
    if holding_read_model_locks:
        query += (
            " AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c"
            " ON c.oid = l.relation WHERE l.pid = a.pid AND c.relname = ANY(:tables))"
        )
    tables = [t.name for t in hub.store.tables.metadata.sorted_tables]
    with hub.store.reader.connect() as conn:
        count: int = conn.execute(
            text(query), {"app": WORKER_APP_NAME, "tables": tables}
        ).scalar_one()
    return count


def wait_for_sessions_gone(hub: Hub) -> None:
    """On PostgreSQL, wait until the killed worker's backends have ended."""
    if hub.store.is_sqlite:
        return
    deadline = time.monotonic() + ROUND_TIMEOUT
    pause = threading.Event()
    while worker_sessions(hub):
        assert time.monotonic() < deadline, "the killed worker's sessions linger"
        pause.wait(POLL)


def kill_mid_batch(hub: Hub, url: str, log_path: Path) -> Kill | None:
    """Start a worker and SIGKILL it inside a read-model transaction, once a
    projection has committed a batch since the start but is still behind.

    Returns None (the worker killed all the same) when every projection
    reached the head before that happened.
    """
    before = positions(hub)
    head = hub.head()
    pause = threading.Event()
    deadline = time.monotonic() + ROUND_TIMEOUT
    probe = WriteProbe(hub)
    try:
        with worker_process(url, log_path) as proc:
            while True:
                check_worker(proc, hub, log_path)
                now = positions(hub)
                moved = [n for n in NAMES if before[n] < now[n] < head]
                if moved and probe.in_transaction():
                    os.kill(proc.pid, signal.SIGKILL)
                    break
                if all(p >= head for p in now.values()):
                    return None
                assert time.monotonic() < deadline, (
                    f"no progress within {ROUND_TIMEOUT}s: from {before} "
                    f"to {now}, head {head}"
                )
                pause.wait(POLL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        probe.close()
        wait_for_sessions_gone(hub)
    return Kill(moved, before, positions(hub), head)


def run_to_head(hub: Hub, url: str, log_path: Path) -> None:
    """Restart the worker and let every projection reach the head; then kill it."""
    head = hub.head()
    pause = threading.Event()
    deadline = time.monotonic() + FINAL_TIMEOUT
    with worker_process(url, log_path) as proc:
        while True:
            check_worker(proc, hub, log_path)
            now = positions(hub)
            if all(p >= head for p in now.values()):
                break
            assert time.monotonic() < deadline, f"not at head {head}: {now}"
            pause.wait(POLL)
    wait_for_sessions_gone(hub)


# --- the test -----------------------------------------------------------------


def test_sigkilled_worker_loses_and_duplicates_nothing(
    database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "worker.log"
    started = time.monotonic()
    hub = Hub.open(make_settings(database_url), hasher=FAST_HASHER)
    try:
        # No workers in this process: project the bootstrap in-process once
        # so that `admin_context` can read the admin's id.
        ensure_first_superuser(hub)
        hub.catch_up()
        admin = admin_context(hub)
        users = [register(hub) for _ in range(3)]
        workload = Workload(hub=hub, admin=admin, users=users)
        workload.write(INITIAL_EVENTS)
        log = LogIndex(hub)

        kills: list[Kill] = []
        for _ in range(MAX_ROUNDS):
            if len(kills) == KILLS:
                break
            add_backlog(hub, workload)
            kill = kill_mid_batch(hub, database_url, log_path)
            if kill is not None:
                kills.append(kill)
            # Whatever the kill interrupted, what was committed is whole.
            assert_rows_match_positions(hub, log)
        assert len(kills) == KILLS, f"only {len(kills)} kills mid-batch"
        for kill in kills:
            assert all(kill.at_kill[n] > kill.before[n] for n in kill.moved)
            assert all(kill.at_kill[n] >= kill.before[n] for n in NAMES)

        run_to_head(hub, database_url, log_path)
        head = hub.head()
        final = assert_rows_match_positions(hub, log)
        assert final == dict.fromkeys(NAMES, head)
        for name in NAMES:
            assert catch_up(hub.app, hub.store, name) == head
            assert differences(hub.app, hub.store, name) == (head, [])
        # What a run looked like, for `pytest -s` or a failure report.
        sys.stderr.write(
            f"\n{database_url.split(':')[0]}: {head} events, "
            f"{workload.refused} refused commands, "
            f"{time.monotonic() - started:.1f}s; kills: "
            + "; ".join(
                ",".join(f"{n} {k.before[n]}→{k.at_kill[n]}" for n in k.moved)
                + f" of {k.head}"
                for k in kills
            )
            + "\n"
        )
    finally:
        hub.close()
