"""What every ItemHub event records: who, through which channel, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

# Aggregates keep the command ids of their most recent changes so that a retried
# command is recognised from the events alone. The window bounds snapshot size.
RECENT_COMMANDS_WINDOW = 1000
NAMESPACE = UUID("6f1c1b8e-4a5e-4c39-9a57-2f2b5f0f8a11")
SYSTEM_ACTOR_ID = uuid5(NAMESPACE, "system")


class Channel(StrEnum):
    """Where a command came from; stored in events by value."""

    API = "api"
    UI = "ui"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, kw_only=True, slots=True)
class EventMeta:
    """Who and why, copied into every event a command appends."""

    actor_id: UUID
    actor_name: str
    channel: Channel
    correlation_id: UUID
    command_id: UUID

    def fields(self) -> dict[str, Any]:
        """The metadata as event attributes (the channel by value)."""
        return {
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "channel": self.channel.value,
            "correlation_id": self.correlation_id,
            "command_id": self.command_id,
        }

    @classmethod
    def system(cls, command_id: UUID | None = None) -> EventMeta:
        """Metadata for changes made by ItemHub itself (bootstrap, maintenance)."""
        return cls(
            actor_id=SYSTEM_ACTOR_ID,
            actor_name="system",
            channel=Channel.SYSTEM,
            correlation_id=uuid4(),
            command_id=command_id or uuid4(),
        )


class HubAggregate(Aggregate):
    """Base of ItemHub aggregates: remembers recent command ids and the last actor."""

    # Declared for type checkers only: class annotations would become
    # dataclass fields of the aggregate's generated __init__.
    if TYPE_CHECKING:
        recent_commands: dict[str, int]
        last_actor_id: UUID
        last_actor_name: str

    def version_of_command(self, command_id: UUID) -> int | None:
        """The version a command produced, if this aggregate has seen it."""
        return self.recent_commands.get(command_id.hex)


class HubEvent(Aggregate.Event):
    """Base of every ItemHub event: the metadata fields plus bookkeeping."""

    actor_id: UUID
    actor_name: str
    channel: str
    correlation_id: UUID
    command_id: UUID

    def apply(self, aggregate: Any) -> None:
        """Evolve the aggregate, then note the command and the actor."""
        if not hasattr(aggregate, "recent_commands"):
            aggregate.recent_commands = {}
        self.evolve(aggregate)
        recent: dict[str, int] = aggregate.recent_commands
        recent.pop(self.command_id.hex, None)
        recent[self.command_id.hex] = self.originator_version
        while len(recent) > RECENT_COMMANDS_WINDOW:
            del recent[next(iter(recent))]
        aggregate.last_actor_id = self.actor_id
        aggregate.last_actor_name = self.actor_name

    def evolve(self, aggregate: Any) -> None:
        """Change the aggregate's state; overridden by each event."""


class HubCreated(HubEvent, Aggregate.Created):
    """Base of every ItemHub "created" event."""
