"""The runtime of one process: store, read models, workers, bus, feed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from itemhub.auth import Authenticator
from itemhub.commands import (
    CommandBus,
    PasswordHasher,
    ReadModelUnavailable,
)
from itemhub.config import Settings
from itemhub.eventstore import ItemHub, head_position
from itemhub.facades import Commands, Queries
from itemhub.projections import (
    ProjectionStatus,
    UserCredentials,
)
from itemhub.projections.registry import projection_names
from itemhub.projections.users import UsersProjection
from itemhub.queries import ReadModels
from itemhub.queries.audit import AuditLog
from itemhub.queries.idempotency import IdempotencyStore
from itemhub.queries.recent_cards import RecentCards
from itemhub.queries.security_log import SecurityLog
from itemhub.readside import (
    ChangeFeed,
    ProjectionFailed,
    file_lock,
)
from itemhub.readside.checkpointer import Checkpointer
from itemhub.readside.election import READ_MODELS_LOCK, projection_lock
from itemhub.readside.read_side import ReadSide
from itemhub.readside.replay import catch_up
from itemhub.readstore.store import ReadStore

log = logging.getLogger(__name__)

COMMAND_WAIT_TIMEOUT = 10.0
# A projection serves when it runs here or another instance runs it for us.
LIVE_STATES = frozenset({"running", "standby"})
USERS = UsersProjection.name


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

    recent: RecentCards = field(default_factory=RecentCards)
    commands: Commands = field(init=False)
    queries: Queries = field(init=False)

    def __post_init__(self) -> None:
        self.feed.tap(self.recent.take)
        self.commands = Commands(self)
        self.queries = Queries(self)

    @classmethod
    def open(cls, settings: Settings, *, hasher: PasswordHasher | None = None) -> Hub:
        """Connect to the databases (creating tables in single-instance mode)."""
        # The wiring imports this module for ``Hub``: look it up at call time.
        from itemhub.bootstrap import open_hub

        return open_hub(settings, hasher=hasher)

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
        from itemhub.first_superuser import ensure_first_superuser

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
        if target.kind == "postgres":
            lock = projection_lock(target.conninfo, READ_MODELS_LOCK)
        else:
            assert target.events_path is not None
            lock = file_lock.held(file_lock.lock_path(target.events_path))
        with lock as ours:
            if ours:
                for name in projection_names():
                    catch_up(self.app, self.store, name)
                return
        head = self.head()
        for name in projection_names():
            self._wait_for_leader(name, head, timeout)

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

    @property
    def uptime(self) -> float:
        """Seconds since this runtime was opened."""
        return time.monotonic() - self.started_at


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
    return side.worker.changed[USERS], pushed


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
