"""The read store's engines: a reader pool and a writer per database kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

WRITER_IDLE_IN_TRANSACTION_MS = 15_000
# PostgreSQL connections per instance: reads, projection writes (four workers
# and the occasional idempotency or security-log row).
READ_POOL_SIZE = 12
WRITER_POOL_SIZE = 5
POOL_TIMEOUT = 10.0


def sqlite_engines(url: str) -> tuple[Engine, Engine]:
    """A pooled reader and an IMMEDIATE-transaction writer on one SQLite file."""
    args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
    # Sized for the thread pool's concurrency: an overflow connection is
    # closed on return, and reopening it reruns the pragmas.
    reader = create_engine(url, connect_args=args, pool_size=20, max_overflow=20)
    # A small pool: the projection worker writes every batch, and opening a
    # connection per transaction reran the pragmas each time (a tenth of the
    # worker's time). The listeners below set up each new connection.
    writer = create_engine(url, connect_args=args, pool_size=2, max_overflow=8)
    for engine in (reader, writer):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_unicode_lower)
    # SQLite upgrades a deferred read lock to a write lock without waiting
    # (SQLITE_BUSY at once); BEGIN IMMEDIATE waits on busy_timeout instead.
    event.listen(writer, "connect", _sqlite_autocommit_driver)
    event.listen(writer, "begin", _sqlite_begin_immediate)
    return reader, writer


def postgres_engines(url: str, pool_size: int) -> tuple[Engine, Engine]:
    """A fixed reader pool and a writer pool whose idle transactions time out."""
    # A fixed pool, no overflow: requests queue for a connection rather
    # than open and close extra ones, and every instance stays inside
    # its share of the server's max_connections (see the README).
    reader = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT,
    )
    # Writers (projection batches) hold the tracking row's lock: if a
    # leader freezes mid-batch, the server ends its transaction so the
    # next leader is not blocked behind it for ever.
    writer = create_engine(
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
    return reader, writer


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
