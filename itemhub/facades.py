"""The two doors API, UI and CLI use: one sends commands, one answers questions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from itemhub.commands import Command, CommandResult, Context
from itemhub.projections import ItemCard, ProjectionStatus
from itemhub.queries import ReadModels
from itemhub.queries.audit import AuditLog
from itemhub.queries.chain import ChainReport, verify_chain
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.history import (
    BoardAsOf,
    ItemVersion,
    LoggedEvent,
    board_as_of,
    item_as_of,
    item_history,
    logged_events,
)
from itemhub.queries.security_log import SecurityLog
from itemhub.readiness import Readiness, check_readiness
from itemhub.readside.feed import Subscriber
from itemhub.readside.replay import (
    Progress,
    ReplayResult,
    differences,
    rebuild,
    rebuild_together,
)
from itemhub.readstore.outages import translating

if TYPE_CHECKING:
    from itemhub.runtime import Hub


class Commands:
    """Sends commands; each returns once the read models show its change."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    @translating
    def send(self, command: Command, context: Context) -> CommandResult:
        """Run one command (a ``DomainError`` on refusal, nothing appended)."""
        return self._hub.bus.handle(command, context)


class Queries:
    """Answers every question about the board, its users and its history."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    @property
    def read(self) -> ReadModels:
        """Items, the board, users and activity, from the read models."""
        return self._hub.read

    @property
    def audit(self) -> AuditLog:
        """The audit trail: filtered pages, counts, exports, positions in time."""
        return self._hub.audit

    @property
    def security(self) -> SecurityLog:
        """Logins, denials, throttling and revocations."""
        return self._hub.security

    @translating
    def item_after(self, item_id: UUID, result: CommandResult) -> ItemCard | None:
        """An item as a command left it (or newer), for that command's answer."""
        card = self._hub.recent.after(item_id, result.position, result.version)
        return card if card is not None else self._hub.read.item(item_id)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Get each committed batch of deltas on the loop; returns an unsubscribe."""
        return self._hub.feed.subscribe(subscriber)

    @translating
    def item_history(self, item_id: UUID) -> list[ItemVersion]:
        """Every version of an item, from the event log."""
        return item_history(self._hub.app, item_id)

    @translating
    def item_as_of(
        self,
        item_id: UUID,
        *,
        version: int | None = None,
        at: dt.datetime | None = None,
    ) -> ItemVersion | None:
        """An item at a version or a moment (None: it did not exist yet)."""
        return item_as_of(self._hub.app, item_id, version=version, at=at)

    @translating
    def logged_events(
        self, first: int, last: int, limit: int = 500
    ) -> list[LoggedEvent]:
        """The stored events at positions ``first``..``last``."""
        return logged_events(self._hub.app, first, last, limit)

    @translating
    def board_as_of(self, position: int) -> BoardAsOf:
        """The whole board at a past position (from the nearest checkpoint)."""
        hub = self._hub
        return board_as_of(
            hub.app,
            position,
            hub.settings.board_columns,
            checkpoints=BoardCheckpoints(hub.store),
        )

    @translating
    def chain_report(self) -> ChainReport:
        """Recompute the hash chain over the stored events."""
        return verify_chain(self._hub.app, self._hub.store)

    @translating
    def rebuild(self, name: str, progress: Progress | None = None) -> ReplayResult:
        """Replay one read model from zero into fresh tables and swap them in."""
        return rebuild(self._hub.app, self._hub.store, name, progress)

    @translating
    def rebuild_together(
        self, names: Sequence[str], progress: Progress | None = None
    ) -> ReplayResult:
        """Replay several read models in one pass over the log, swapped in at once."""
        return rebuild_together(self._hub.app, self._hub.store, names, progress)

    @translating
    def differences(self, name: str) -> tuple[int, list[str]]:
        """Replay one read model aside and list how the live one differs."""
        return differences(self._hub.app, self._hub.store, name)

    @translating
    def head(self) -> int:
        """The newest position in the log."""
        return self._hub.head()

    @translating
    def status(self) -> list[ProjectionStatus]:
        """Each projection's position, head and state."""
        return self._hub.status()

    def worker_states(self) -> dict[str, str]:
        """Each projection worker's state in this process (none when stopped)."""
        hub = self._hub
        return hub.read_side.states() if hub.running else {}

    def readiness(self) -> Readiness:
        """Whether this instance can serve: both databases and every projection."""
        return check_readiness(self._hub)
