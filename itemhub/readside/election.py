"""Leader election for the read models: a PostgreSQL advisory lock held by one
instance.

Each instance runs one elector. The elector holding the lock runs the
projection worker (every read model); the others keep trying. The lock lives on a
dedicated autocommit connection (a pooled one would share it with other
borrowers, and a transaction timeout would drop it), with an
``idle_session_timeout`` lease kept alive by a heartbeat, so the lock of a
frozen leader expires too. Two leaders at once (a lock lost mid-batch) are
harmless: the worker's compare-and-set on its tracking row fences the old one.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from itemhub.readside.background import BackgroundThread
from itemhub.readside.worker import ProjectionWorker

log = logging.getLogger(__name__)

# The first half of every ItemHub advisory-lock key ("IH"), so the keys do not
# collide with another application's locks in the same database.
LOCK_CLASS = 0x4948
TRY_EVERY = 0.25
HEARTBEAT_EVERY = 0.5
# A leader silent this long loses its session, hence the lock.
LEASE_SECONDS = 5
BACKOFF_MAX = 2.0
MIGRATION_KEY = (LOCK_CLASS, 0)
# The lock of the one worker that projects every read model.
READ_MODELS_LOCK = "read-models"


def lock_key(projection: str) -> tuple[int, int]:
    """The two-int advisory-lock key of a projection (stable across processes)."""
    objid = zlib.crc32(f"itemhub:projection:{projection}".encode())
    return LOCK_CLASS, objid - (1 << 32) if objid >= 1 << 31 else objid


class Elector(BackgroundThread):
    """Runs ``worker`` while this process holds the projection's lock."""

    # Stopping drains the worker's batch in flight, then releases the lock.
    stop_timeout = 15.0

    def __init__(self, conninfo: str, worker: ProjectionWorker) -> None:
        super().__init__(f"itemhub-elector-{worker.name}")
        self.conninfo = conninfo
        self.worker = worker
        self.name = worker.name
        # What the log says this instance runs (the lock's name says less).
        self.runs = f"projections {', '.join(worker.projections)}"
        self.leader = False
        self.first_round = threading.Event()

    def _starting(self) -> None:
        self.first_round.clear()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"SET idle_session_timeout = '{LEASE_SECONDS}s'")
                    backoff = 0.1
                    if self._acquire(conn):
                        self._lead(conn)
            except psycopg.Error as exc:
                self._step_down()
                log.warning(
                    "elector %s lost its database connection, retrying in %.1fs: %s",
                    self.name,
                    backoff,
                    " ".join(str(exc).split())[:200],
                )
                self.first_round.set()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self._step_down()
        self.first_round.set()

    def _acquire(self, conn: psycopg.Connection[tuple[object, ...]]) -> bool:
        key = lock_key(self.name)
        while not self._stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
            if row is not None and row[0]:
                return True
            self.first_round.set()
            # The lease applies to this waiting connection too: keep it alive.
            self._stopping.wait(TRY_EVERY)
        return False

    def _lead(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        log.info("this instance now runs %s", self.runs)
        self.leader = True
        self.worker.start()
        self.first_round.set()
        try:
            while not self._stopping.wait(HEARTBEAT_EVERY):
                # Raises when the session (and with it the lock) is gone.
                conn.execute("SELECT 1")
        finally:
            self._step_down()
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(self.name))

    def _step_down(self) -> None:
        if self.leader:
            # Drain the batch in flight before the lock goes (graceful), or
            # after it went (the fence stops a batch that races a new leader).
            self.worker.stop()
            self.leader = False
            log.info("this instance stopped running %s", self.runs)


@contextmanager
def projection_lock(conninfo: str, projection: str) -> Iterator[bool]:
    """Hold a projection's lock for a one-off job; yields False if a leader has it."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", lock_key(projection)
        ).fetchone()
        yield bool(row and row[0])


@contextmanager
def migration_lock(conninfo: str) -> Iterator[None]:
    """Wait for, then hold, the lock that lets one process at a time create tables."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_KEY)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_KEY)
