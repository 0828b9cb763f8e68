"""The command bus: one handler per command, then read-your-writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

# Imported for their registrations: every handler lives in one of these.
from itemhub.commands import items, users  # noqa: F401
from itemhub.commands import messages as m
from itemhub.commands.passwords import PasswordHasher
from itemhub.commands.registry import HANDLERS
from itemhub.commands.unit_of_work import UnitOfWork
from itemhub.events import HubAggregate
from itemhub.eventstore import ItemHub

A = TypeVar("A", bound=HubAggregate)

__all__ = ["HANDLERS", "CommandBus"]


class CommandBus:
    """Runs commands against the ``ItemHub`` application."""

    def __init__(
        self,
        app: ItemHub,
        *,
        columns: Sequence[str],
        hasher: PasswordHasher,
        after_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.app = app
        self.uow = UnitOfWork(app, columns=columns, hasher=hasher)
        # Called with the result position before a command returns: the runtime
        # waits there until the read models include the change.
        self.after_commit = after_commit

    def handle(self, command: m.Command, context: m.Context) -> m.CommandResult:
        """Run one command; raises a ``DomainError`` and appends nothing on refusal."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        result = handler(self.uow, command, context)
        if self.after_commit is not None:
            self.after_commit(result.position)
        return result

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Load an aggregate, or None when it does not exist."""
        return self.uow.get(cls, aggregate_id)
