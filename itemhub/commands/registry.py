"""Which handler answers which command: one each, registered by ``handles``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from itemhub.commands import messages as m
from itemhub.commands.policy import Actor, require_superuser
from itemhub.commands.unit_of_work import UnitOfWork
from itemhub.events import EventMeta

C = TypeVar("C", bound=m.Command)
Decide = Callable[[], m.CommandResult]
"""Takes the decision on fresh state and saves it; run again if a save races."""
Prepare = Callable[[UnitOfWork, C, Actor, EventMeta], Decide]
Handler = Callable[[UnitOfWork, Any, m.Context], m.CommandResult]
HANDLERS: dict[type[m.Command], Handler] = {}


def handles(
    command_type: type[C], *, superusers_only: bool = False
) -> Callable[[Prepare[C]], Prepare[C]]:
    """Register the one handler of a command type.

    The handler checks and prepares what needs no fresh state (input, password
    hashes) and returns its decision; every handler's common steps (load the
    actor, refuse non-superusers where asked, stamp the metadata, retry the
    decision when a concurrent save wins) are written here once.
    """

    def register(prepare: Prepare[C]) -> Prepare[C]:
        if command_type in HANDLERS:
            raise TypeError(f"{command_type.__name__} already has a handler")

        def handle(uow: UnitOfWork, command: C, context: m.Context) -> m.CommandResult:
            actor = uow.actor(context)
            if superusers_only:
                require_superuser(actor)
            meta = uow.meta(actor, context, command)
            return uow.retrying(prepare(uow, command, actor, meta))

        HANDLERS[command_type] = handle
        return prepare

    return register
