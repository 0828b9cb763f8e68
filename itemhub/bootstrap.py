"""Wiring one process: settings in, a ``Hub`` with every part connected out."""

from __future__ import annotations

import hashlib
import hmac
from contextlib import nullcontext
from functools import partial

import psycopg
from limits.storage import RedisStorage

from itemhub.auth import Authenticator, LoginGuard
from itemhub.commands import CommandBus, PasswordHasher
from itemhub.config import DatabaseTarget, Settings, secret_value
from itemhub.datadir import (
    make_private_dir,
    make_private_sqlite_files,
    with_dev_secrets,
)
from itemhub.eventstore import open_store
from itemhub.projections.registry import projection_names
from itemhub.queries import ReadModels
from itemhub.queries.audit import AuditLog
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.idempotency import IdempotencyStore
from itemhub.queries.security_log import SecurityLog
from itemhub.readside import ChangeFeed, file_lock
from itemhub.readside.checkpointer import Checkpointer
from itemhub.readside.election import migration_lock, projection_lock
from itemhub.readside.read_side import ReadSide
from itemhub.readstore.store import ReadStore
from itemhub.runtime import Hub


class StartupError(Exception):
    """ItemHub cannot start; the message is one line fit for an operator."""


def open_hub(settings: Settings, *, hasher: PasswordHasher | None = None) -> Hub:
    """Connect to the databases (creating tables in single-instance mode).

    The hub's settings hold the resolved secrets: in dev, unset ones come
    from the data directory, so everything signs with those.
    """
    target = settings.database
    preflight(target)
    try:
        settings = with_dev_secrets(settings)
    except OSError as exc:
        raise StartupError(
            f"cannot keep dev secrets in {settings.data_directory}: {exc.strerror}"
        ) from None
    # Concurrent DDL fails on PostgreSQL ("tuple concurrently updated"):
    # processes that create tables take turns.
    serialised = (
        migration_lock(target.conninfo)
        if settings.auto_migrate and target.kind == "postgres"
        else nullcontext()
    )
    with serialised:
        try:
            app = open_store(target, create_table=settings.auto_migrate)
        except Exception as exc:
            raise StartupError(
                f"cannot open the event store ({target.describe}): {exc}"
            ) from None
        store = ReadStore(target.read_url)
        try:
            if settings.auto_migrate:
                store.create_tables(projection_names())
            store.ping()
        except Exception as exc:
            app.close()
            store.dispose()
            raise StartupError(
                f"cannot open the read models ({target.describe}): "
                f"{str(exc).splitlines()[0]}"
                + ("" if settings.auto_migrate else "; run `itemhub migrate` first")
            ) from None
    feed = ChangeFeed()
    read_side = ReadSide(
        app,
        store,
        feed,
        conninfo=target.conninfo if target.kind == "postgres" else None,
        lock_file=(
            file_lock.lock_path(target.events_path)
            if target.events_path is not None
            else None
        ),
    )
    hasher = hasher or PasswordHasher.argon2id()
    bus = CommandBus(app, columns=settings.board_columns, hasher=hasher)
    read = ReadModels(store.reader, store.tables, settings.board_columns)
    hub = Hub(
        settings=settings,
        app=app,
        store=store,
        feed=feed,
        read_side=read_side,
        bus=bus,
        read=read,
        auth=Authenticator(
            read=read,
            hasher=hasher,
            # Behind a proxy, failures on every instance count together.
            guard=LoginGuard.create(
                settings.login_rate_limit,
                storage=(
                    RedisStorage(settings.redis_url.get_secret_value())
                    if settings.redis_url is not None
                    else None
                ),
            ),
        ),
        idempotency=IdempotencyStore(store),
        audit=AuditLog(store.reader, store.tables),
        security=SecurityLog(store, key=security_log_key(settings)),
        checkpointer=Checkpointer(
            app,
            BoardCheckpoints(store),
            lock=(
                partial(projection_lock, target.conninfo, "board-checkpoints")
                if target.kind == "postgres"
                else None
            ),
        ),
    )
    return hub


def security_log_key(settings: Settings) -> bytes:
    """The key hashing unknown e-mails in the security log, derived from the secret."""
    secret = secret_value(settings.secret_key).encode()
    return hmac.new(secret, b"itemhub-security-log", hashlib.sha256).digest()


def preflight(target: DatabaseTarget) -> None:
    """Fail fast, in one line, when the database cannot be used at all."""
    if target.kind == "sqlite":
        assert target.events_path is not None and target.read_path is not None
        try:
            make_private_dir(target.events_path.parent)
            make_private_sqlite_files(target.events_path, target.read_path)
        except OSError as exc:
            raise StartupError(
                f"cannot create {exc.filename or target.events_path.parent}: "
                f"{exc.strerror}"
            ) from None
        return
    try:
        psycopg.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            dbname=target.dbname,
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or repr(exc)
        raise StartupError(f"cannot reach {target.describe}: {reason}") from None
