"""Bulk inserts for rebuilds: PostgreSQL's COPY, a plain executemany elsewhere."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from sqlalchemy import Connection, Table, insert


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    # COPY skips SQLAlchemy, so each column's own bind processing (UTC times)
    # is applied here.
    processors = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = conn.connection.driver_connection
    assert driver is not None  # a checked-out connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    row[name] if process is None else process(row[name])
                    for name, process in zip(names, processors, strict=True)
                ]
            )
