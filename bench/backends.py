"""Fresh, throw-away databases to benchmark on: a SQLite file or a PostgreSQL db."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from pydantic import SecretStr

from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    Channel,
    Context,
    PasswordHasher,
    RegisterUser,
)
from itemhub.config import Settings
from itemhub.runtime import Hub

Backend = Literal["sqlite", "postgres"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgres")

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "password-123"
# Real Argon2id with a small cost, as in the tests: hashing is not measured here.
FAST_HASHER = PasswordHasher.argon2id(memory_cost=1024, time_cost=1)


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def postgres_version() -> str:
    """The server's version string (e.g. ``15.20``), or why it is unknown."""
    try:
        with _admin_connection() as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return f"unreachable ({' '.join(str(exc).split())})"
    return str(row[0]) if row else "unknown"


@contextmanager
def fresh_database(backend: Backend) -> Iterator[str]:
    """A database URL for an empty database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="itemhub-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'itemhub.db'}"
        return
    name = f"itemhub_bench_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with _admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


def settings_for(database_url: str) -> Settings:
    """Settings for a benchmark hub: no .env file, a known first superuser."""
    return Settings(
        database_url=database_url,
        first_superuser_email=ADMIN_EMAIL,
        first_superuser_password=SecretStr(ADMIN_PASSWORD),
        log_level="WARNING",
        _env_file=None,  # type: ignore[call-arg]
    )


@contextmanager
def opened_hub(database_url: str) -> Iterator[Hub]:
    """An opened (not started) hub on ``database_url``, closed afterwards."""
    hub = Hub.open(settings_for(database_url), hasher=FAST_HASHER)
    try:
        yield hub
    finally:
        hub.close()


def register_user(hub: Hub, email: str, *, superuser: bool = False) -> Context:
    """Register a user as the system (CLI channel); a context acting as them."""
    result = hub.bus.handle(
        RegisterUser(
            email=email,
            password=USER_PASSWORD,
            full_name=email.split("@")[0].title(),
            is_superuser=superuser,
        ),
        Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.CLI),
    )
    return Context(actor_id=result.aggregate_id, channel=Channel.API)
