"""The bus itself: one handler per command, who may act, the after-commit hook."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from uuid import uuid4

import pytest

from itemhub.commands import (
    HANDLERS,
    SYSTEM_ACTOR_ID,
    Channel,
    Command,
    CommandBus,
    CommandResult,
    Context,
    CreateItem,
    DeactivateUser,
    EditItem,
    Forbidden,
    InvalidInput,
    LogOutEverywhere,
    RegisterUser,
)
from itemhub.commands import messages as m
from itemhub.commands.policy import Actor
from itemhub.commands.registry import Decide, handles
from itemhub.commands.unit_of_work import UnitOfWork
from itemhub.events import EventMeta
from itemhub.eventstore import ItemHub
from tests.unit.conftest import COLUMNS, FAST_HASHER, PASSWORD, SYSTEM_CLI, Board


def _concrete_commands() -> set[type[m.Command]]:
    abstract = {m.Command, m.VersionedCommand, m.ItemCommand, m.UserCommand}
    return {
        cls
        for _, cls in inspect.getmembers(m, inspect.isclass)
        if issubclass(cls, m.Command) and cls not in abstract
    }


def test_every_concrete_command_has_exactly_one_handler() -> None:
    commands = _concrete_commands()

    assert m.CreateItem in commands
    assert m.LogOutEverywhere in commands
    assert set(HANDLERS) == commands


def test_a_second_handler_for_a_command_is_refused() -> None:
    def again(
        _uow: UnitOfWork, _cmd: m.CreateItem, _actor: Actor, _meta: EventMeta
    ) -> Decide:  # pragma: no cover - never registered
        raise AssertionError

    with pytest.raises(TypeError, match="CreateItem already has a handler"):
        handles(m.CreateItem)(again)


def test_a_command_without_a_handler_is_a_type_error(board: Board) -> None:
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Unhandled(Command):
        pass

    with pytest.raises(TypeError, match="no handler for Unhandled"):
        board.run(Unhandled())


# --- who may act --------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.API, Channel.UI])
def test_system_actor_is_refused_on_the_api_and_the_ui(
    board: Board, channel: Channel
) -> None:
    system = Context(actor_id=SYSTEM_ACTOR_ID, channel=channel)
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(RegisterUser(email="x@example.com", password=PASSWORD), system)

    assert board.head() == before


@pytest.mark.parametrize("channel", [Channel.CLI, Channel.SYSTEM])
def test_system_actor_acts_as_a_superuser_from_the_cli_and_itself(
    board: Board, channel: Channel
) -> None:
    system = Context(actor_id=SYSTEM_ACTOR_ID, channel=channel)

    result = board.run(RegisterUser(email="x@example.com", password=PASSWORD), system)

    user = board.user(result.aggregate_id)
    assert user.last_actor_id == SYSTEM_ACTOR_ID
    assert user.last_actor_name == "system"


def test_bootstrap_from_an_empty_store_creates_the_roster(
    app: ItemHub, bus: CommandBus
) -> None:
    result = bus.handle(
        RegisterUser(email="first@example.com", password=PASSWORD, is_superuser=True),
        SYSTEM_CLI,
    )

    assert result.version == 1
    # user, e-mail claim, roster started, roster joined
    assert app.recorder.max_notification_id() == 4


def test_an_unknown_actor_is_refused(board: Board) -> None:
    stranger = Context(actor_id=uuid4(), channel=Channel.API)

    with pytest.raises(Forbidden):
        board.create_item(stranger)


def test_an_item_id_is_not_an_actor(board: Board) -> None:
    item_id = board.create_item(board.root)

    with pytest.raises(Forbidden):
        board.create_item(Context(actor_id=item_id, channel=Channel.API))


@pytest.mark.parametrize(
    "command",
    [
        CreateItem(title="t", column="Todo"),
        EditItem(item_id=uuid4(), title="t"),
        RegisterUser(email="x@example.com", password=PASSWORD),
    ],
    ids=["create", "edit", "register"],
)
def test_deactivated_actor_cannot_act(board: Board, command: Command) -> None:
    boss = board.register("Boss", superuser=True)
    board.run(DeactivateUser(user_id=boss.actor_id))
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(command, boss)

    assert board.head() == before


def test_deactivated_actor_cannot_even_log_themselves_out(board: Board) -> None:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))

    with pytest.raises(Forbidden):
        board.run(LogOutEverywhere(user_id=alice.actor_id), alice)


def test_a_deactivated_superuser_loses_their_powers_at_once(board: Board) -> None:
    boss = board.register("Boss", superuser=True)
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=boss.actor_id))

    with pytest.raises(Forbidden):
        board.run(DeactivateUser(user_id=alice.actor_id), boss)


# --- the after-commit hook ----------------------------------------------------


def test_after_commit_gets_the_position_of_each_handled_command(
    app: ItemHub,
) -> None:
    seen: list[int] = []
    bus = CommandBus(app, columns=COLUMNS, hasher=FAST_HASHER, after_commit=seen.append)
    root = bus.handle(
        RegisterUser(email="r@example.com", password=PASSWORD, is_superuser=True),
        SYSTEM_CLI,
    )
    context = Context(actor_id=root.aggregate_id, channel=Channel.API)

    created = bus.handle(CreateItem(title="t", column="Todo"), context)
    with pytest.raises(InvalidInput):
        bus.handle(CreateItem(title="t", column="Nowhere"), context)

    assert seen == [root.position, created.position]
    assert created.position == app.recorder.max_notification_id()


def test_results_report_the_log_position_of_their_last_event(board: Board) -> None:
    alice = board.register("Alice")
    before = board.head()

    result = board.run(CreateItem(title="t", column="Todo"), alice)

    assert result.position == before + 1 == board.head()
    assert isinstance(result, CommandResult)


def test_a_repeated_create_finds_the_item_it_made_and_stores_nothing(
    board: Board,
) -> None:
    alice = board.register("Alice")
    create = CreateItem(title="once", column="Todo", command_id=uuid4())
    first = board.run(create, alice)
    head = board.head()

    again = board.run(create, alice)

    assert (again.aggregate_id, again.version) == (first.aggregate_id, 1)
    assert again.replayed and not first.replayed
    assert board.head() == head
    events = list(board.app.events.get(first.aggregate_id))
    assert [type(e).__name__ for e in events] == ["Created"]
