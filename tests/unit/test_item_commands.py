"""Item commands through the real CommandBus on the in-memory event store."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from itemhub.commands import (
    ArchiveItem,
    Channel,
    Command,
    Conflict,
    Context,
    CreateItem,
    DeactivateUser,
    DeleteItem,
    EditItem,
    Forbidden,
    InvalidInput,
    InvalidState,
    MoveItem,
    NotFound,
    ReassignItem,
    RestoreItem,
)
from itemhub.events import Item
from tests.unit.conftest import SYSTEM_CLI, Board

# --- create -------------------------------------------------------------------


def test_standard_user_creates_an_item_they_own(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(
        CreateItem(title="Write the spec", description="v1", column="Todo"), alice
    )

    item = board.item(result.aggregate_id)
    assert (result.version, result.replayed) == (1, False)
    assert result.position == board.head()
    assert (item.title, item.description, item.column, item.position) == (
        "Write the spec",
        "v1",
        "Todo",
        None,
    )
    assert item.owner_id == alice.actor_id


@pytest.mark.parametrize("given", ["doing", "  DOING ", "Doing", "dOiNg"])
def test_column_is_matched_case_insensitively_and_stored_as_configured(
    board: Board, given: str
) -> None:
    alice = board.register("Alice")

    item_id = board.create_item(alice, column=given)

    assert board.item(item_id).column == "Doing"


def test_create_in_an_unknown_column_is_invalid_and_appends_nothing(
    board: Board,
) -> None:
    alice = board.register("Alice")
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(CreateItem(title="t", column="Someday"), alice)

    assert excinfo.value.field == "column"
    assert board.head() == before


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (CreateItem(title="   ", column="Todo"), "title"),
        (CreateItem(title="t" * 201, column="Todo"), "title"),
        (CreateItem(title="t", description="d" * 10_001, column="Todo"), "description"),
        (CreateItem(title="t", column="Todo", position=-1), "position"),
    ],
    ids=["blank-title", "long-title", "long-description", "negative-position"],
)
def test_create_with_an_invalid_field_appends_nothing(
    board: Board, command: CreateItem, field: str
) -> None:
    alice = board.register("Alice")
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(command, alice)

    assert excinfo.value.field == field
    assert board.head() == before


def test_standard_user_cannot_create_an_item_for_someone_else(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(CreateItem(title="t", column="Todo", owner_id=bob.actor_id), alice)

    assert board.head() == before


def test_standard_user_may_name_themselves_as_owner(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(
        CreateItem(title="t", column="Todo", owner_id=alice.actor_id), alice
    )

    assert board.item(result.aggregate_id).owner_id == alice.actor_id


def test_superuser_creates_an_item_for_another_user(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(CreateItem(title="t", column="Todo", owner_id=alice.actor_id))

    assert board.item(result.aggregate_id).owner_id == alice.actor_id


def test_create_for_an_unknown_owner_is_invalid(board: Board) -> None:
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(CreateItem(title="t", column="Todo", owner_id=uuid4()))

    assert excinfo.value.field == "owner_id"
    assert board.head() == before


def test_create_for_a_deactivated_owner_is_invalid(board: Board) -> None:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(CreateItem(title="t", column="Todo", owner_id=alice.actor_id))

    assert excinfo.value.field == "owner_id"
    assert board.head() == before


def test_create_for_an_item_id_instead_of_a_user_is_invalid(board: Board) -> None:
    item_id = board.create_item(board.root)

    with pytest.raises(InvalidInput):
        board.run(CreateItem(title="t", column="Todo", owner_id=item_id))


def test_system_actor_creates_items_only_for_a_real_user(board: Board) -> None:
    alice = board.register("Alice")

    with pytest.raises(InvalidInput) as excinfo:
        board.run(CreateItem(title="t", column="Todo"), SYSTEM_CLI)
    result = board.run(
        CreateItem(title="t", column="Todo", owner_id=alice.actor_id), SYSTEM_CLI
    )

    assert excinfo.value.field == "owner_id"
    assert board.item(result.aggregate_id).owner_id == alice.actor_id


# --- edit ---------------------------------------------------------------------


def test_owner_edits_the_text_of_their_item(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    result = board.run(
        EditItem(item_id=item_id, title=" New title ", description="New"), alice
    )

    item = board.item(item_id)
    assert (result.version, result.replayed) == (2, False)
    assert (item.title, item.description) == ("New title", "New")


def test_edit_without_change_appends_nothing_and_is_not_a_replay(
    board: Board,
) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice, title="Same")
    before = board.head()

    result = board.run(EditItem(item_id=item_id, title="Same"), alice)

    assert (result.version, result.replayed, result.position) == (1, False, before)
    assert board.head() == before


def test_edit_with_an_empty_title_is_invalid_and_appends_nothing(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(InvalidInput):
        board.run(EditItem(item_id=item_id, title=" "), alice)

    assert board.head() == before


def test_superuser_edits_another_users_item(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    board.run(EditItem(item_id=item_id, title="Fixed by root"))

    assert board.item(item_id).title == "Fixed by root"
    assert board.item(item_id).last_actor_name == "Root Admin"


def test_superuser_edits_text_and_owner_in_one_save(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    before = board.head()

    result = board.run(EditItem(item_id=item_id, title="Bob's", owner_id=bob.actor_id))

    item = board.item(item_id)
    assert (item.title, item.owner_id, result.version) == ("Bob's", bob.actor_id, 3)
    assert board.head() == before + 2


def test_edit_with_only_a_new_owner_reassigns(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)

    board.run(EditItem(item_id=item_id, owner_id=bob.actor_id))

    assert board.item(item_id).owner_id == bob.actor_id
    assert board.item(item_id).version == 2


def test_standard_user_cannot_give_their_item_away_by_editing(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(EditItem(item_id=item_id, title="new", owner_id=bob.actor_id), alice)

    assert board.head() == before
    assert board.item(item_id).title == "Write the spec"


def test_standard_user_may_edit_naming_themselves_as_owner(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    result = board.run(
        EditItem(item_id=item_id, title="new", owner_id=alice.actor_id), alice
    )

    assert result.version == 2
    assert board.item(item_id).title == "new"


def test_edit_to_a_deactivated_owner_is_invalid_and_appends_nothing(
    board: Board,
) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    board.run(DeactivateUser(user_id=bob.actor_id))
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(EditItem(item_id=item_id, title="new", owner_id=bob.actor_id))

    assert excinfo.value.field == "owner_id"
    assert board.head() == before


def test_edit_with_a_bad_title_does_not_reassign_either(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(InvalidInput):
        board.run(EditItem(item_id=item_id, title="", owner_id=bob.actor_id))

    assert board.head() == before
    assert board.item(item_id).owner_id == alice.actor_id


# --- move ---------------------------------------------------------------------


def test_owner_moves_their_item_to_a_column_and_index(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    board.run(MoveItem(item_id=item_id, column="done", position=3), alice)

    item = board.item(item_id)
    assert (item.column, item.position, item.version) == ("Done", 3, 2)


def test_move_to_an_unknown_column_is_invalid(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(MoveItem(item_id=item_id, column="Later", position=0), alice)

    assert excinfo.value.field == "column"
    assert board.head() == before


def test_move_to_a_negative_position_is_invalid(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(MoveItem(item_id=item_id, column="Done", position=-1), alice)

    assert excinfo.value.field == "position"
    assert board.head() == before


def test_archived_item_cannot_be_moved(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(ArchiveItem(item_id=item_id), alice)
    before = board.head()

    with pytest.raises(InvalidState):
        board.run(MoveItem(item_id=item_id, column="Done", position=0), alice)

    assert board.head() == before


# --- reassign -----------------------------------------------------------------


def test_superuser_reassigns_an_item_to_another_active_user(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)

    result = board.run(ReassignItem(item_id=item_id, owner_id=bob.actor_id))

    assert result.version == 2
    assert board.item(item_id).owner_id == bob.actor_id


def test_standard_user_cannot_reassign_even_their_own_item(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(ReassignItem(item_id=item_id, owner_id=bob.actor_id), alice)

    assert board.head() == before
    assert board.item(item_id).owner_id == alice.actor_id


def test_reassign_to_an_unknown_user_is_invalid(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    with pytest.raises(InvalidInput) as excinfo:
        board.run(ReassignItem(item_id=item_id, owner_id=uuid4()))

    assert excinfo.value.field == "owner_id"


def test_reassign_to_a_deactivated_user_is_invalid(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    board.run(DeactivateUser(user_id=bob.actor_id))
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(ReassignItem(item_id=item_id, owner_id=bob.actor_id))

    assert excinfo.value.field == "owner_id"
    assert board.head() == before


def test_reassign_to_the_current_owner_appends_nothing(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    before = board.head()

    result = board.run(ReassignItem(item_id=item_id, owner_id=alice.actor_id))

    assert (result.version, result.replayed) == (1, False)
    assert board.head() == before


# --- archive, restore, delete -------------------------------------------------


def test_owner_archives_then_restores_to_the_end_of_the_column(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(MoveItem(item_id=item_id, column="Doing", position=2), alice)

    board.run(ArchiveItem(item_id=item_id), alice)
    assert board.item(item_id).archived is True
    board.run(RestoreItem(item_id=item_id), alice)

    item = board.item(item_id)
    assert (item.archived, item.column, item.position) == (False, "Doing", None)


def test_archiving_twice_is_invalid_state(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(ArchiveItem(item_id=item_id), alice)
    before = board.head()

    with pytest.raises(InvalidState):
        board.run(ArchiveItem(item_id=item_id), alice)

    assert board.head() == before


def test_restoring_an_item_that_is_not_archived_is_invalid_state(
    board: Board,
) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    before = board.head()

    with pytest.raises(InvalidState):
        board.run(RestoreItem(item_id=item_id), alice)

    assert board.head() == before


def test_owner_deletes_their_item(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    result = board.run(DeleteItem(item_id=item_id), alice)

    assert result.version == 2
    assert board.item(item_id).deleted is True


ItemCommand = Callable[[UUID, UUID], Command]
EVERY_ITEM_CHANGE: dict[str, ItemCommand] = {
    "edit": lambda item_id, _: EditItem(item_id=item_id, title="Mine now"),
    "move": lambda item_id, _: MoveItem(item_id=item_id, column="Done", position=0),
    "archive": lambda item_id, _: ArchiveItem(item_id=item_id),
    "restore": lambda item_id, _: RestoreItem(item_id=item_id),
    "delete": lambda item_id, _: DeleteItem(item_id=item_id),
    "reassign": lambda item_id, to: ReassignItem(item_id=item_id, owner_id=to),
}


@pytest.mark.parametrize("make", EVERY_ITEM_CHANGE.values(), ids=EVERY_ITEM_CHANGE)
def test_deleted_item_is_not_found_afterwards(board: Board, make: ItemCommand) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(DeleteItem(item_id=item_id), alice)
    before = board.head()

    with pytest.raises(NotFound):
        board.run(make(item_id, board.root.actor_id))  # even for a superuser

    assert board.head() == before


@pytest.mark.parametrize("make", EVERY_ITEM_CHANGE.values(), ids=EVERY_ITEM_CHANGE)
def test_standard_user_cannot_see_someone_elses_item(
    board: Board, make: ItemCommand
) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    board.run(ArchiveItem(item_id=item_id), alice)  # so that restore would apply
    before = board.head()

    with pytest.raises(NotFound):
        board.run(make(item_id, bob.actor_id), bob)

    assert board.head() == before
    assert board.item(item_id).owner_id == alice.actor_id


@pytest.mark.parametrize("make", EVERY_ITEM_CHANGE.values(), ids=EVERY_ITEM_CHANGE)
def test_a_change_to_a_missing_item_is_not_found(
    board: Board, make: ItemCommand
) -> None:
    with pytest.raises(NotFound):
        board.run(make(uuid4(), board.root.actor_id))


def test_an_item_command_on_a_user_id_is_not_found(board: Board) -> None:
    alice = board.register("Alice")

    with pytest.raises(NotFound):
        board.run(EditItem(item_id=alice.actor_id, title="x"))


def test_standard_user_cannot_move_someone_elses_item(board: Board) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)

    with pytest.raises(NotFound):
        board.run(MoveItem(item_id=item_id, column="Done", position=0), bob)

    assert board.item(item_id).column == "Todo"


# --- stale versions -----------------------------------------------------------


STALE_CHANGES: dict[str, ItemCommand] = {
    "edit": lambda item_id, _: EditItem(
        item_id=item_id, title="late", expected_version=1
    ),
    "move": lambda item_id, _: MoveItem(
        item_id=item_id, column="Done", position=0, expected_version=1
    ),
    "archive": lambda item_id, _: ArchiveItem(item_id=item_id, expected_version=1),
    "delete": lambda item_id, _: DeleteItem(item_id=item_id, expected_version=1),
    "reassign": lambda item_id, to: ReassignItem(
        item_id=item_id, owner_id=to, expected_version=1
    ),
}


@pytest.mark.parametrize("make", STALE_CHANGES.values(), ids=STALE_CHANGES)
def test_stale_expected_version_conflicts_naming_who_changed_it(
    board: Board, make: ItemCommand
) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    item_id = board.create_item(alice)
    board.run(EditItem(item_id=item_id, title="Alice was here"), alice)
    before = board.head()

    with pytest.raises(Conflict) as excinfo:
        board.run(make(item_id, bob.actor_id))

    conflict = excinfo.value
    assert (conflict.aggregate_id, conflict.expected_version) == (item_id, 1)
    assert (conflict.current_version, conflict.changed_by) == (2, "Alice")
    assert board.head() == before


def test_stale_restore_conflicts(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)
    board.run(ArchiveItem(item_id=item_id), alice)

    with pytest.raises(Conflict) as excinfo:
        board.run(RestoreItem(item_id=item_id, expected_version=1))

    assert (excinfo.value.current_version, excinfo.value.changed_by) == (2, "Alice")


def test_current_expected_version_is_accepted(board: Board) -> None:
    alice = board.register("Alice")
    item_id = board.create_item(alice)

    result = board.run(
        MoveItem(item_id=item_id, column="Done", position=0, expected_version=1), alice
    )

    assert result.version == 2


def test_conflict_names_the_email_of_a_user_without_a_name(board: Board) -> None:
    anon = board.register("", email="anon@example.com")
    item_id = board.create_item(anon)
    board.run(EditItem(item_id=item_id, title="changed"), anon)

    with pytest.raises(Conflict) as excinfo:
        board.run(EditItem(item_id=item_id, title="late", expected_version=1))

    assert excinfo.value.changed_by == "anon@example.com"


# --- metadata through the bus -------------------------------------------------


def test_events_of_a_command_carry_the_actor_channel_and_ids(board: Board) -> None:
    alice = board.register("Alice")
    ui = Context(actor_id=alice.actor_id, channel=Channel.UI)
    command = CreateItem(title="t", column="Todo")

    result = board.run(command, ui)

    [notification] = board.app.recorder.select_notifications(
        start=result.position, limit=1
    )
    event = board.app.mapper.to_domain_event(notification)
    assert isinstance(event, Item.Created)
    assert (event.actor_id, event.actor_name) == (alice.actor_id, "Alice")
    assert event.channel == "ui"
    assert event.correlation_id == ui.correlation_id
    assert event.command_id == command.command_id
    assert board.item(result.aggregate_id).version_of_command(command.command_id) == 1
