"""Shared fixtures: real SQLite files and real PostgreSQL databases, made per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from itemhub.commands import Channel, Context, PasswordHasher, RegisterUser
from itemhub.config import Settings, parse_database_url
from itemhub.runtime import Hub

PG_HOST = os.environ.get("ITEMHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ITEMHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ITEMHUB_TEST_PG_USER", "postgres")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
# Real Argon2id with a small cost: tests create many users.
FAST_HASHER = PasswordHasher.argon2id(memory_cost=1024, time_cost=1)


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Fail (never skip) when PostgreSQL is unreachable: CI must run these tests."""
    try:
        _admin_connection().close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} is required: {exc}")


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped with its data dir."""
    name = f"itemhub_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        yield url
    finally:
        with _admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
        shutil.rmtree(data_dir_for(url), ignore_errors=True)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    request.getfixturevalue("postgres_available")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite event store (and read-model file beside it)."""
    return f"sqlite:///{tmp_path / 'data' / 'itemhub.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


def data_dir_for(database_url: str) -> Path:
    """Where test hubs on this database keep dev secrets: beside a SQLite file,
    else a temporary directory per PostgreSQL database (never the repo's ./data)."""
    target = parse_database_url(database_url)
    if target.events_path is not None:
        return target.events_path.parent
    return Path(tempfile.gettempdir()) / "itemhub-test-data" / target.dbname


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test hub (no .env file, a known first superuser)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir_for(database_url),
        "first_superuser_email": ADMIN_EMAIL,
        "first_superuser_password": ADMIN_PASSWORD,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def hub(database_url: str) -> Iterator[Hub]:
    """A started runtime (workers running) on the test's database."""
    runtime = Hub.open(make_settings(database_url), hasher=FAST_HASHER)
    try:
        runtime.start()
        yield runtime
    finally:
        runtime.close()


def admin_context(hub: Hub, channel: Channel = Channel.API) -> Context:
    """Act as the first superuser."""
    creds = hub.read.credentials_by_email(ADMIN_EMAIL)
    assert creds is not None
    return Context(actor_id=creds.id, channel=channel)


def register(hub: Hub, email: str | None = None, *, superuser: bool = False) -> Context:
    """Register a user (as the admin) and return a context acting as them."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    result = hub.bus.handle(
        RegisterUser(
            email=email,
            password="password-123",
            full_name=email.split("@")[0].title(),
            is_superuser=superuser,
        ),
        admin_context(hub),
    )
    return Context(actor_id=result.aggregate_id, channel=Channel.API)
