"""A retried command (same command id) appends nothing and answers as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from itemhub.commands import (
    HANDLERS,
    ArchiveItem,
    ChangePassword,
    ChangeProfile,
    Command,
    Context,
    CreateItem,
    DeactivateUser,
    DeleteItem,
    EditItem,
    GrantSuperuser,
    LogOutEverywhere,
    MoveItem,
    NotFound,
    ReactivateUser,
    ReassignItem,
    RegisterUser,
    RestoreItem,
    RevertItem,
    RevokeSuperuser,
    UpdateUser,
)
from tests.unit.conftest import PASSWORD, Board

Scenario = Callable[[Board], tuple[Command, Context]]


def _create(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return CreateItem(title="t", column="Todo"), alice


def _edit(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return EditItem(item_id=board.create_item(alice), title="new"), alice


def _move(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    return MoveItem(item_id=item_id, column="Done", position=0), alice


def _reassign(board: Board) -> tuple[Command, Context]:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    return ReassignItem(item_id=item_id, owner_id=bob.actor_id), board.root


def _archive(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return ArchiveItem(item_id=board.create_item(alice)), alice


def _restore(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(ArchiveItem(item_id=item_id), alice)
    return RestoreItem(item_id=item_id), alice


def _revert(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(EditItem(item_id=item_id, title="changed"), alice)
    return RevertItem(item_id=item_id, to_version=1), alice


def _delete(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return DeleteItem(item_id=board.create_item(alice)), alice


def _register(board: Board) -> tuple[Command, Context]:
    return RegisterUser(email="new@example.com", password=PASSWORD), board.root


def _profile(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return ChangeProfile(user_id=alice.actor_id, email="alice@new.example"), alice


def _password(board: Board) -> tuple[Command, Context]:
    # On the retry the current password is no longer the current one.
    alice = board.register("Alice")
    command = ChangePassword(
        user_id=alice.actor_id, current_password=PASSWORD, new_password="new-password"
    )
    return command, alice


def _grant(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return GrantSuperuser(user_id=alice.actor_id), board.root


def _revoke(board: Board) -> tuple[Command, Context]:
    boss = board.register("Boss", superuser=True)
    return RevokeSuperuser(user_id=boss.actor_id), board.root


def _deactivate(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return DeactivateUser(user_id=alice.actor_id), board.root


def _reactivate(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))
    return ReactivateUser(user_id=alice.actor_id), board.root


def _log_out(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    return LogOutEverywhere(user_id=alice.actor_id), alice


def _update(board: Board) -> tuple[Command, Context]:
    alice = board.register("Alice")
    command = UpdateUser(
        user_id=alice.actor_id,
        email="al@example.com",
        password="set-by-root",
        is_superuser=True,
    )
    return command, board.root


SCENARIOS: dict[type[Command], Scenario] = {
    CreateItem: _create,
    EditItem: _edit,
    MoveItem: _move,
    ReassignItem: _reassign,
    ArchiveItem: _archive,
    RestoreItem: _restore,
    RevertItem: _revert,
    DeleteItem: _delete,
    RegisterUser: _register,
    ChangeProfile: _profile,
    ChangePassword: _password,
    GrantSuperuser: _grant,
    RevokeSuperuser: _revoke,
    DeactivateUser: _deactivate,
    ReactivateUser: _reactivate,
    LogOutEverywhere: _log_out,
    UpdateUser: _update,
}


def test_there_is_a_retry_scenario_for_every_command_type() -> None:
    assert set(SCENARIOS) == set(HANDLERS)


@pytest.mark.parametrize(
    "scenario", SCENARIOS.values(), ids=[t.__name__ for t in SCENARIOS]
)
def test_retried_command_appends_nothing_and_replays_the_first_result(
    board: Board, scenario: Scenario
) -> None:
    command, context = scenario(board)
    first = board.run(command, context)
    head = board.app.recorder.max_notification_id()

    again = board.run(command, context)

    assert board.app.recorder.max_notification_id() == head
    assert again.replayed is True
    assert (again.aggregate_id, again.version) == (first.aggregate_id, first.version)
    assert again.position == head
    assert first.replayed is False


def test_retry_after_later_changes_replays_the_version_it_produced(
    board: Board,
) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    edit = EditItem(item_id=item_id, title="first edit", expected_version=1)
    board.run(edit, alice)
    board.run(MoveItem(item_id=item_id, column="Done", position=0), alice)
    head = board.head()

    again = board.run(edit, alice)  # its expected version is stale by now

    assert (again.version, again.replayed) == (2, True)
    assert board.head() == head
    assert board.item(item_id).title == "first edit"


def test_retried_create_after_later_changes_returns_the_same_item(
    board: Board,
) -> None:
    alice = board.register("Alice")
    create = CreateItem(title="t", column="Todo")
    item_id = board.run(create, alice).aggregate_id
    board.run(ArchiveItem(item_id=item_id), alice)

    again = board.run(create, alice)

    assert (again.aggregate_id, again.version, again.replayed) == (item_id, 1, True)


def test_retried_delete_by_someone_without_access_is_not_found(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    delete = DeleteItem(item_id=board.create_item(alice))
    board.run(delete, alice)

    with pytest.raises(NotFound):
        board.run(delete, bob)


def test_retried_delete_by_a_superuser_replays(board: Board) -> None:
    alice = board.register("Alice")
    delete = DeleteItem(item_id=board.create_item(alice))
    first = board.run(delete, alice)

    again = board.run(delete)

    assert (again.version, again.replayed) == (first.version, True)


def test_retry_is_recognised_after_the_aggregate_was_snapshotted(
    board: Board,
) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    early = EditItem(item_id=item_id, title="edit 0")
    board.run(early, alice)
    for n in range(1, 60):
        board.run(EditItem(item_id=item_id, title=f"edit {n}"), alice)
    assert board.app.snapshots is not None
    assert list(board.app.snapshots.get(item_id)) != []
    head = board.head()

    again = board.run(early, alice)

    assert (again.version, again.replayed) == (2, True)
    assert board.head() == head
