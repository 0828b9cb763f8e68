"""The read-model database: its engines, and tables created or rebuilt when
their definitions change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, inspect, select, update
from sqlalchemy.schema import CreateTable

from itemhub.readstore.engines import READ_POOL_SIZE, postgres_engines, sqlite_engines
from itemhub.readstore.outbox_table import metadata as outbox_metadata
from itemhub.readstore.schema import read_tables
from itemhub.readstore.tracking import (
    TrackingState,
    ensure_tracking_rows,
    read_tracking,
)


class ReadStore:
    """Engines for the read models; on SQLite writers begin IMMEDIATE transactions."""

    def __init__(self, url: str, *, pool_size: int = READ_POOL_SIZE) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.tables = read_tables()
        self.reader, self.writer = (
            sqlite_engines(url) if self.is_sqlite else postgres_engines(url, pool_size)
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
