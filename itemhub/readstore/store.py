"""The read-model database: engines, table creation, tracking rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateTable

from itemhub.readstore.outbox_table import metadata as outbox_metadata
from itemhub.readstore.schema import ReadTables, read_tables

WRITER_IDLE_IN_TRANSACTION_MS = 15_000
# PostgreSQL connections per instance: reads, projection writes (four workers
# and the occasional idempotency or security-log row).
READ_POOL_SIZE = 12
WRITER_POOL_SIZE = 5
POOL_TIMEOUT = 10.0


class Fenced(Exception):
    """The tracking row moved under a worker: another writer owns this read model."""


@dataclass(frozen=True, slots=True)
class TrackingState:
    """Where a projection stands."""

    position: int
    epoch: int
    error: str | None


class ReadStore:
    """Engines for the read models; on SQLite writers begin IMMEDIATE transactions."""

    def __init__(self, url: str, *, pool_size: int = READ_POOL_SIZE) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.tables = read_tables()
        if self.is_sqlite:
            args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
            # Sized for the thread pool's concurrency: an overflow connection is
            # closed on return, and reopening it reruns the pragmas.
            self.reader = create_engine(
                url, connect_args=args, pool_size=20, max_overflow=20
            )
            # NullPool: every write transaction opens a fresh connection set up
            # by the listeners below; cheap on SQLite, and no shared state.
            self.writer = create_engine(url, connect_args=args, poolclass=NullPool)
            for engine in (self.reader, self.writer):
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "connect", _sqlite_unicode_lower)
            # SQLite upgrades a deferred read lock to a write lock without waiting
            # (SQLITE_BUSY at once); BEGIN IMMEDIATE waits on busy_timeout instead.
            event.listen(self.writer, "connect", _sqlite_autocommit_driver)
            event.listen(self.writer, "begin", _sqlite_begin_immediate)
        else:
            # A fixed pool, no overflow: requests queue for a connection rather
            # than open and close extra ones, and every instance stays inside
            # its share of the server's max_connections (see the README).
            self.reader = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=POOL_TIMEOUT,
            )
            # Writers (projection batches) hold the tracking row's lock: if a
            # leader freezes mid-batch, the server ends its transaction so the
            # next leader is not blocked behind it for ever.
            self.writer = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=WRITER_POOL_SIZE,
                max_overflow=0,
                pool_timeout=POOL_TIMEOUT,
                connect_args={
                    "options": "-c idle_in_transaction_session_timeout="
                    f"{WRITER_IDLE_IN_TRANSACTION_MS}"
                },
            )

    def create_tables(self, projections: Sequence[str]) -> list[str]:
        """Create missing tables and tracking rows; rebuild changed read models.

        A read model whose table definitions changed since it was built is
        dropped and recreated empty, with its tracking reset to zero, so its
        worker replays it from the log: read models are disposable, events
        are not. Returns the names of the read models reset that way.
        """
        reset: list[str] = []
        with self.writer.begin() as conn:
            self.tables.metadata.create_all(conn, tables=[self.tables.schema_versions])
            known = dict(
                conn.execute(
                    select(
                        self.tables.schema_versions.c.name,
                        self.tables.schema_versions.c.fingerprint,
                    )
                ).all()
            )
            for name in projections:
                owned = self.tables.of(name)
                fingerprint = schema_fingerprint(owned, conn.dialect)
                if known.get(name) == fingerprint and not _columns_differ(conn, owned):
                    continue
                if name in known or _columns_differ(conn, owned):
                    reset.append(name)
                    for table in owned:
                        table.drop(conn, checkfirst=True)
                    t = self.tables.tracking
                    conn.execute(
                        update(t)
                        .where(t.c.name == name)
                        .values(position=0, epoch=t.c.epoch + 1, error=None)
                    )
                self._record_fingerprint(conn, name, fingerprint, name in known)
            self.tables.metadata.create_all(conn)
            outbox_metadata.create_all(conn)
            ensure_tracking_rows(conn, self.tables, projections)
        return reset

    def _record_fingerprint(
        self, conn: Connection, name: str, fingerprint: str, exists: bool
    ) -> None:
        v = self.tables.schema_versions
        if exists:
            conn.execute(
                update(v).where(v.c.name == name).values(fingerprint=fingerprint)
            )
        else:
            conn.execute(insert(v).values(name=name, fingerprint=fingerprint))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()

    def ping(self) -> None:
        """Raise if the database cannot answer."""
        with self.reader.connect() as conn:
            conn.execute(select(self.tables.tracking.c.name).limit(1)).all()

    def tracking(self, name: str) -> TrackingState:
        """A projection's tracking row."""
        with self.reader.connect() as conn:
            return read_tracking(conn, self.tables, name)


def _columns_differ(conn: Connection, tables: Iterable[Table]) -> bool:
    """True when an existing table lacks or has other columns than defined."""
    inspector = inspect(conn)
    for table in tables:
        if inspector.has_table(table.name):
            found = {c["name"] for c in inspector.get_columns(table.name)}
            if found != {c.name for c in table.columns}:
                return True
    return False


def schema_fingerprint(tables: Iterable[Table], dialect: Any) -> str:
    """A hash of the DDL of some tables, to notice when their definition changed."""
    ddl = "\n".join(str(CreateTable(t).compile(dialect=dialect)) for t in tables)
    return hashlib.sha256(ddl.encode()).hexdigest()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_unicode_lower(dbapi_conn: Any, _record: Any) -> None:
    # SQLite's own lower() folds ASCII letters only, so a case-insensitive
    # search for "éclair" would miss "Éclair" (PostgreSQL folds them all).
    # Deterministic, so that it may still appear in an index expression.
    dbapi_conn.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _sqlite_begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def ensure_tracking_rows(
    conn: Connection, tables: ReadTables, names: Iterable[str]
) -> None:
    """Insert a zero tracking row for each projection that has none."""
    t = tables.tracking
    existing = set(conn.execute(select(t.c.name)).scalars())
    rows = [
        {"name": n, "position": 0, "epoch": 0, "error": None, "updated_at": None}
        for n in names
        if n not in existing
    ]
    if rows:
        conn.execute(insert(t), rows)


def read_tracking(conn: Connection, tables: ReadTables, name: str) -> TrackingState:
    """Read a tracking row (position 0 if none)."""
    t = tables.tracking
    row = conn.execute(
        select(t.c.position, t.c.epoch, t.c.error).where(t.c.name == name)
    ).first()
    if row is None:
        return TrackingState(position=0, epoch=0, error=None)
    return TrackingState(position=row.position, epoch=row.epoch, error=row.error)


def advance_tracking(
    conn: Connection,
    tables: ReadTables,
    name: str,
    old: TrackingState,
    new_position: int,
) -> TrackingState:
    """Compare-and-set the tracking row in the caller's transaction, or raise Fenced."""
    t = tables.tracking
    moved = conn.execute(
        update(t)
        .where(t.c.name == name, t.c.position == old.position, t.c.epoch == old.epoch)
        .values(position=new_position, error=None, updated_at=_now())
        .returning(t.c.position)
    ).first()
    if moved is None:
        raise Fenced(f"tracking of {name!r} moved away from {old.position}")
    return TrackingState(position=new_position, epoch=old.epoch, error=None)


def record_failure(store: ReadStore, name: str, error: str) -> None:
    """Write a worker's failure into its tracking row (best effort)."""
    t = store.tables.tracking
    with store.writer.begin() as conn:
        conn.execute(
            update(t).where(t.c.name == name).values(error=error, updated_at=_now())
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
