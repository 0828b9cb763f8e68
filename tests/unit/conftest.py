"""Unit-test fixtures: the real command bus on the in-memory (POPO) event store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    Channel,
    Command,
    CommandBus,
    CommandResult,
    Context,
    CreateItem,
    PasswordHasher,
    RegisterUser,
)
from itemhub.events import EventMeta, Item, SuperuserRoster, User
from itemhub.eventstore import ItemHub, head_position

COLUMNS = ("Backlog", "Todo", "Doing", "Done")
PASSWORD = "password-123"
ROOT_EMAIL = "root@example.com"
ROOT_NAME = "Root Admin"
SYSTEM_CLI = Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.CLI)
# Real Argon2id with a small cost: the tests hash many passwords.
FAST_HASHER = PasswordHasher.argon2id(memory_cost=1024, time_cost=1)


def meta(
    *,
    actor_name: str = "Alice",
    channel: Channel = Channel.API,
    command_id: UUID | None = None,
) -> EventMeta:
    """Event metadata of a made-up user acting through ``channel``."""
    return EventMeta(
        actor_id=uuid4(),
        actor_name=actor_name,
        channel=channel,
        correlation_id=uuid4(),
        command_id=command_id or uuid4(),
    )


def new_item(*, title: str = "Write the spec", position: int | None = None) -> Item:
    """A fresh, unsaved item in ``Todo``."""
    return Item.create(
        item_id=uuid4(),
        title=title,
        description="First draft",
        column="Todo",
        position=position,
        owner_id=uuid4(),
        meta=meta(),
    )


@dataclass
class Board:
    """The write side of one ItemHub, with a bootstrapped superuser ("root")."""

    app: ItemHub
    bus: CommandBus
    root: Context

    def head(self) -> int:
        """The position of the newest stored event (0 when none)."""
        return head_position(self.app)

    def run(self, command: Command, context: Context | None = None) -> CommandResult:
        """Handle ``command`` as ``context`` (root by default)."""
        return self.bus.handle(command, context or self.root)

    def register(
        self,
        name: str,
        *,
        superuser: bool = False,
        email: str | None = None,
        by: Context | None = None,
    ) -> Context:
        """Register a user and return a context acting as them through the API."""
        result = self.run(
            RegisterUser(
                email=email or f"{name.lower()}@example.com",
                password=PASSWORD,
                full_name=name,
                is_superuser=superuser,
            ),
            by,
        )
        return Context(actor_id=result.aggregate_id, channel=Channel.API)

    def create_item(
        self, owner: Context, *, title: str = "Write the spec", column: str = "Todo"
    ) -> UUID:
        """Create an item as ``owner``; returns its id."""
        return self.run(CreateItem(title=title, column=column), owner).aggregate_id

    def item(self, item_id: UUID) -> Item:
        """The item as the event store knows it now."""
        item: object = self.app.repository.get(item_id)
        assert isinstance(item, Item)
        return item

    def user(self, user_id: UUID) -> User:
        """The user as the event store knows them now."""
        user: object = self.app.repository.get(user_id)
        assert isinstance(user, User)
        return user

    def roster(self) -> list[UUID]:
        """The ids of the active superusers."""
        roster: object = self.app.repository.get(SuperuserRoster.ROSTER_ID)
        assert isinstance(roster, SuperuserRoster)
        return list(roster.members)


@pytest.fixture
def app() -> Iterator[ItemHub]:
    """An empty in-memory event store."""
    application = ItemHub(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def bus(app: ItemHub) -> CommandBus:
    """The command bus on ``app``, with the default columns and no read side."""
    return CommandBus(app, columns=COLUMNS, hasher=FAST_HASHER, after_commit=None)


@pytest.fixture
def board(app: ItemHub, bus: CommandBus) -> Board:
    """A bus whose first superuser, "Root Admin", was bootstrapped from the CLI."""
    result = bus.handle(
        RegisterUser(
            email=ROOT_EMAIL, password=PASSWORD, full_name=ROOT_NAME, is_superuser=True
        ),
        SYSTEM_CLI,
    )
    return Board(
        app=app,
        bus=bus,
        root=Context(actor_id=result.aggregate_id, channel=Channel.API),
    )
