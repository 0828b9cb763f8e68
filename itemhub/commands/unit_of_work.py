"""The unit of work: load aggregates, decide on fresh state, save atomically.

Every decision is taken from the event store alone (never from read models),
and every save is optimistic: when a concurrent save wins, the decision is
taken again on the fresh state, which is where stale versions become
``Conflict`` and retried command ids become replays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from itemhub.commands import messages as m
from itemhub.commands.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
)
from itemhub.commands.passwords import PasswordHasher
from itemhub.commands.policy import Actor
from itemhub.events import (
    SYSTEM_ACTOR_ID,
    Channel,
    EventMeta,
    HubAggregate,
    SuperuserRoster,
    User,
)
from itemhub.eventstore import ItemHub, head_position

A = TypeVar("A", bound=HubAggregate)

MAX_ATTEMPTS = 10
_PRIVILEGED_CHANNELS = {Channel.CLI, Channel.SYSTEM}


@dataclass(frozen=True, slots=True)
class Acting:
    """Who runs a command, and the metadata each of its events carries."""

    actor: Actor
    meta: EventMeta


class UnitOfWork:
    """The event store as the handlers see it: aggregates in, results out."""

    def __init__(
        self, app: ItemHub, *, columns: Sequence[str], hasher: PasswordHasher
    ) -> None:
        self.app = app
        self.columns = tuple(columns)
        self.hasher = hasher

    def actor(self, context: m.Context) -> Actor:
        """The acting user, as the event store knows them now."""
        if context.actor_id == SYSTEM_ACTOR_ID:
            if context.channel not in _PRIVILEGED_CHANNELS:
                raise Forbidden("the system actor acts only from the CLI or itself")
            return Actor(id=SYSTEM_ACTOR_ID, name="system", is_superuser=True)
        user = self.get(User, context.actor_id)
        if user is None:
            raise Forbidden("unknown user")
        if not user.is_active:
            raise Forbidden("this account is deactivated")
        return Actor(id=user.id, name=user.display_name, is_superuser=user.is_superuser)

    def meta(self, actor: Actor, context: m.Context, command: m.Command) -> EventMeta:
        """The metadata every event of this command carries."""
        return EventMeta(
            actor_id=actor.id,
            actor_name=actor.name,
            channel=context.channel,
            correlation_id=context.correlation_id,
            command_id=command.command_id,
        )

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Load an aggregate, or None when it does not exist."""
        try:
            aggregate: object = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def column(self, name: str) -> str:
        """The configured column matching ``name`` (case-insensitive)."""
        for column in self.columns:
            if column.casefold() == name.strip().casefold():
                return column
        raise InvalidInput("column", f"must be one of {', '.join(self.columns)}")

    def active_user(self, user_id: UUID, field: str) -> User:
        """A user that exists and is active, or ``InvalidInput`` on ``field``."""
        user = self.get(User, user_id)
        if user is None or not user.is_active:
            raise InvalidInput(field, f"no active user with id {user_id}")
        return user

    def target_user(self, user_id: UUID) -> User:
        """The user a command is about."""
        user = self.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    def roster(self, meta: EventMeta) -> SuperuserRoster:
        """The superuser roster, started on first use."""
        return self.get(SuperuserRoster, SuperuserRoster.ROSTER_ID) or (
            SuperuserRoster.start(meta=meta)
        )

    def save(
        self, result_of: HubAggregate, *aggregates: HubAggregate
    ) -> m.CommandResult:
        """Save new events of all aggregates atomically; report ``result_of``."""
        recordings = self.app.save(*aggregates)
        position = (
            recordings[-1].notification.id if recordings else head_position(self.app)
        )
        return m.CommandResult(
            aggregate_id=result_of.id, version=result_of.version, position=position
        )

    def unchanged(self, aggregate: HubAggregate) -> m.CommandResult:
        """The result of a command that had nothing to change."""
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=aggregate.version,
            position=head_position(self.app),
        )

    def created_before(self, aggregate: HubAggregate) -> m.CommandResult:
        """The first result of a create command whose aggregate already exists."""
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=aggregate.INITIAL_VERSION,
            position=head_position(self.app),
            replayed=True,
        )

    def replay(
        self, aggregate: HubAggregate, command: m.Command
    ) -> m.CommandResult | None:
        """The first result of a command id this aggregate has seen, else None."""
        version = aggregate.version_of_command(command.command_id)
        if version is None:
            return None
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=version,
            position=head_position(self.app),
            replayed=True,
        )

    @staticmethod
    def check_version(aggregate: HubAggregate, expected: int | None) -> None:
        """Refuse a stale expected version, naming who changed it."""
        if expected is not None and expected != aggregate.version:
            raise Conflict(
                aggregate_id=aggregate.id,
                expected_version=expected,
                current_version=aggregate.version,
                changed_by=aggregate.last_actor_name,
            )

    @staticmethod
    def retrying(decide: Callable[[], m.CommandResult]) -> m.CommandResult:
        """Decide and save; when a concurrent save wins, decide again on fresh state."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return decide()
            except IntegrityError:
                continue
        raise InvalidState("it kept changing while being saved; try again")
