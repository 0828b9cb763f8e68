"""The runtime of one process: store, read models, workers, bus, feed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Hashable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol
from uuid import UUID, uuid5

import psycopg
from limits.storage import RedisStorage

from itemhub.auth import Authenticator, LoginGuard
from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    AlreadyExists,
    Channel,
    CommandBus,
    Context,
    PasswordHasher,
    ReadModelUnavailable,
    RegisterUser,
)
from itemhub.config import DatabaseTarget, Settings, secret_value
from itemhub.datadir import (
    make_private_dir,
    make_private_sqlite_files,
    with_dev_secrets,
)
from itemhub.events import NAMESPACE, EmailClaim, normalise_email
from itemhub.eventstore import ItemHub, head_position, open_store
from itemhub.projections import (
    ProjectionStatus,
    UserCredentials,
)
from itemhub.projections.registry import projection_names
from itemhub.projections.users import UsersProjection
from itemhub.queries import ReadModels
from itemhub.queries.audit import AuditLog
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.idempotency import IdempotencyStore
from itemhub.queries.security_log import SecurityLog
from itemhub.readside import (
    ChangeFeed,
    ProjectionFailed,
    file_lock,
)
from itemhub.readside.checkpointer import Checkpointer
from itemhub.readside.election import migration_lock, projection_lock
from itemhub.readside.read_side import ReadSide
from itemhub.readside.replay import catch_up
from itemhub.readstore.store import ReadStore

log = logging.getLogger(__name__)

COMMAND_WAIT_TIMEOUT = 10.0
# A projection serves when it runs here or another instance runs it for us.
LIVE_STATES = frozenset({"running", "standby"})
USERS = UsersProjection.name


class StartupError(Exception):
    """ItemHub cannot start; the message is one line fit for an operator."""


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether this instance can serve: both databases and every projection."""

    event_store: str
    read_models: str
    projections: list[ProjectionStatus]
    max_lag: int

    @property
    def ready(self) -> bool:
        """True when everything answers, every worker runs and none lags too far."""
        return (
            self.event_store == "ok"
            and self.read_models == "ok"
            and all(
                p.state in LIVE_STATES and p.lag <= self.max_lag
                for p in self.projections
            )
        )


@dataclass(repr=False)
class Hub:
    """Everything one ItemHub process runs, wired from ``Settings``."""

    settings: Settings
    app: ItemHub
    store: ReadStore
    feed: ChangeFeed
    read_side: ReadSide
    bus: CommandBus
    read: ReadModels
    auth: Authenticator
    idempotency: IdempotencyStore
    audit: AuditLog
    security: SecurityLog
    checkpointer: Checkpointer
    started_at: float = field(default_factory=time.monotonic)
    running: bool = False
    closed: bool = False

    @classmethod
    def open(cls, settings: Settings, *, hasher: PasswordHasher | None = None) -> Hub:
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
                    store.create_tables()
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
        hub = cls(
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

    # --- lifecycle ------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> str | None:
        """Start the workers, then make sure the first superuser exists.

        Returns the generated password of a first superuser created just now.
        Starting a running hub only rebinds the loop (lifespans may nest).
        """
        self.feed.bind(loop)
        if self.running:
            return None
        self.read_side.start()
        self.checkpointer.start()
        self.bus.after_commit = self.wait_for
        self.running = True
        return ensure_first_superuser(self)

    def stop(self) -> None:
        """Stop the workers after their batch in flight."""
        if self.running:
            self.bus.after_commit = None
            self.checkpointer.stop()
            self.read_side.stop()
            self.feed.bind(None)
            self.running = False

    def close(self) -> None:
        """Stop and release every connection (idempotent)."""
        self.stop()
        if not self.closed:
            self.closed = True
            self.app.close()
            self.store.dispose()

    # --- the read side --------------------------------------------------------

    def wait_for(self, position: int, timeout: float = COMMAND_WAIT_TIMEOUT) -> None:
        """Return once every read model includes ``position`` (read-your-writes)."""
        try:
            self.read_side.wait_for(position, timeout)
        except ProjectionFailed as exc:
            log.error("a command's change cannot be shown: %s", exc)
            raise ReadModelUnavailable(
                "the change was stored but the read models cannot show it; "
                "see /api/v1/health/ready"
            ) from None
        except TimeoutError as exc:
            log.warning("a command's change is not visible yet: %s", exc)
            raise ReadModelUnavailable(
                "the change was stored but is not visible yet; retry with the "
                "same Idempotency-Key to get its result"
            ) from None

    def catch_up(self, timeout: float = COMMAND_WAIT_TIMEOUT) -> None:
        """Bring every read model to the head (for processes without workers).

        On PostgreSQL a running instance may lead a projection: then wait for
        it (its commits reach browsers through the outbox) instead of
        projecting here, which would fence it and skip those pushes.
        """
        target = self.settings.database
        for name in projection_names():
            if target.kind == "postgres":
                lock = projection_lock(target.conninfo, name)
            else:
                assert target.events_path is not None
                lock = file_lock.held(file_lock.lock_path(target.events_path))
            with lock as ours:
                if ours:
                    catch_up(self.app, self.store, name)
                    continue
            self._wait_for_leader(name, self.head(), timeout)

    def _wait_for_leader(self, name: str, position: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.store.tracking(name).position < position:
            if time.monotonic() > deadline:
                raise ReadModelUnavailable(
                    f"the instance running projection {name} did not reach "
                    f"position {position} within {timeout}s"
                )
            # Another process commits it; nothing here can be signalled.
            time.sleep(0.05)

    def head(self) -> int:
        """The newest position in the log."""
        return head_position(self.app)

    def status(self) -> list[ProjectionStatus]:
        """Projection positions; from the workers if running, else from the tables."""
        if self.running:
            return self.read_side.status()
        head = self.head()
        statuses = []
        for name in projection_names():
            tracking = self.store.tracking(name)
            statuses.append(
                ProjectionStatus(
                    name=name,
                    position=tracking.position,
                    head=head,
                    state="failed" if tracking.error else "idle",
                    error=tracking.error,
                )
            )
        return statuses

    def readiness(self) -> Readiness:
        """Ping both databases and report each projection's lag."""
        event_store = read_models = "ok"
        try:
            self.head()
        except Exception as exc:
            event_store = f"error: {type(exc).__name__}"
        try:
            self.store.ping()
        except Exception as exc:
            read_models = f"error: {type(exc).__name__}"
        projections = self.read_side.status() if event_store == "ok" else []
        return Readiness(
            event_store=event_store,
            read_models=read_models,
            projections=projections,
            max_lag=self.settings.ready_max_lag,
        )

    @property
    def uptime(self) -> float:
        """Seconds since this runtime was opened."""
        return time.monotonic() - self.started_at


def security_log_key(settings: Settings) -> bytes:
    """The key hashing unknown e-mails in the security log, derived from the secret."""
    secret = secret_value(settings.secret_key).encode()
    return hmac.new(secret, b"itemhub-security-log", hashlib.sha256).digest()


def users_stamp(hub: Hub) -> Hashable | None:
    """Where this process last saw the users read model change (None: no cached checks).

    Both marks move before a command that changed a user returns: the local
    worker's last batch that changed a user (single instance: commands wait on
    the position it moves next) and the last users change this instance's relay
    pushed (PostgreSQL: pushed before the committed position commands wait on).
    Other events leave them alone, so while no user changes, a session check
    (each request, each live update of each open tab) is a lookup. Without
    running workers nothing would move them, so then every check reads the
    database.
    """
    if not hub.running:
        return None
    side = hub.read_side
    relay = side.relay
    pushed = relay.cursors.get(USERS) if relay is not None and relay.cursors else None
    return side.workers[USERS].changed, pushed


class OffLoop(Protocol):
    """Runs a blocking session lookup off the event loop (the caller's way)."""

    def __call__(
        self,
        lookup: Callable[[UUID, int], UserCredentials | None],
        user_id: UUID,
        token_version: int,
        /,
    ) -> Awaitable[UserCredentials | None]: ...


async def checked_session(
    hub: Hub, user_id: UUID, token_version: int, off_loop: OffLoop
) -> UserCredentials | None:
    """The user of a token or session if it holds (a lookup if no user changed)."""
    # The stamp is taken before the lookup: a change committed meanwhile moves it,
    # and the entry stored below then answers no later check.
    stamp = users_stamp(hub)
    sessions = hub.auth.sessions
    if stamp is not None:
        cached = sessions.get(user_id, token_version, stamp)
        if cached is not None:
            return cached
    user = await off_loop(hub.auth.session_user, user_id, token_version)
    if user is not None and stamp is not None:
        sessions.put(user, stamp)
    return user


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


def first_superuser_missing(hub: Hub) -> bool:
    """True while nobody holds the configured first superuser's address."""
    email = normalise_email(hub.settings.first_superuser_email)
    claim = hub.bus.get(EmailClaim, EmailClaim.id_for(email))
    return claim is None or claim.holder_id is None


def check_bootstrap(hub: Hub) -> None:
    """In prod, refuse to start when the first superuser would need a password."""
    settings = hub.settings
    if (
        settings.env == "prod"
        and not settings.first_superuser_password
        and first_superuser_missing(hub)
    ):
        raise StartupError(
            "ITEMHUB_FIRST_SUPERUSER_PASSWORD must be set in prod to create "
            f"the first superuser {settings.first_superuser_email}"
        )


def ensure_first_superuser(hub: Hub) -> str | None:
    """Create the configured first superuser if missing (idempotent, race-safe).

    The command id derives from the address (the user id is random), so two
    processes starting at once send the same command: the address's claim lets
    only one of them append, and the other gets its result as a replay.
    Returns the password when one was generated for a user created just now.
    """
    settings = hub.settings
    email = normalise_email(settings.first_superuser_email)
    if not first_superuser_missing(hub):
        return None
    secret = settings.first_superuser_password
    password = secret.get_secret_value() if secret else ""
    generated = None
    if not password:
        if settings.env == "prod":
            raise StartupError(
                "ITEMHUB_FIRST_SUPERUSER_PASSWORD must be set in prod to create "
                f"the first superuser {email}"
            )
        password = generated = secrets.token_urlsafe(12)
    command = RegisterUser(
        command_id=uuid5(NAMESPACE, f"first-superuser:{email}"),
        email=email,
        password=password,
        full_name="Administrator",
        is_superuser=True,
    )
    try:
        result = hub.bus.handle(
            command, Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.SYSTEM)
        )
    except AlreadyExists:
        return None
    log.info("created the first superuser %s", email)
    return None if result.replayed else generated


_current: Hub | None = None
_current_app: object | None = None


def set_current(hub: Hub | None, app: object | None = None) -> None:
    """Remember the hub (and web app) of this process; tests look them up here."""
    global _current, _current_app
    _current, _current_app = hub, app


def current_app() -> object:
    """The web app built in this process."""
    if _current_app is None:
        raise RuntimeError("no ItemHub web app has been built in this process")
    return _current_app


def current() -> Hub:
    """The hub of this process."""
    if _current is None:
        raise RuntimeError("no ItemHub runtime has been built in this process")
    return _current
