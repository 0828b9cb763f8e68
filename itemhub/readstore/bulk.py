"""Bulk inserts for rebuilds: PostgreSQL's COPY, SQLite's own executemany.

Both skip SQLAlchemy's per-row parameter handling, which was a sixth of a
rebuild of the activity read model (cProfile, bench.run part b).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from sqlalchemy import Connection, Table, insert


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the caller's transaction."""
    if not rows:
        return
    names = list(rows[0])
    # Each column's own bind processing (UTC times, UUIDs as SQLite keeps
    # them) applied here, as SQLAlchemy would.
    processing = [(n, table.c[n].type.bind_processor(conn.dialect)) for n in names]
    values = (
        [row[n] if process is None else process(row[n]) for n, process in processing]
        for row in rows
    )
    driver = conn.connection.driver_connection
    assert driver is not None  # a checked-out connection
    if conn.dialect.name == "sqlite":
        columns = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" * len(names))
        driver.executemany(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values
        )
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row_values in values:
            copy.write_row(row_values)
