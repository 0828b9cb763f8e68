"""The Item aggregate on its own: state, events, validation, bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from itemhub.events import Channel, EventMeta, HubEvent, InvalidInput, Item
from itemhub.events.base import RECENT_COMMANDS_WINDOW
from itemhub.events.item import MAX_DESCRIPTION, MAX_TITLE
from tests.unit.conftest import meta, new_item

# --- create -------------------------------------------------------------------


def test_created_item_has_the_given_fields_and_is_on_the_board() -> None:
    owner_id, item_id = uuid4(), uuid4()

    item = Item.create(
        item_id=item_id,
        title="  Write the spec  ",
        description="First draft",
        column="Todo",
        position=2,
        owner_id=owner_id,
        meta=meta(),
    )

    assert item.id == item_id
    assert item.version == 1
    assert (item.title, item.description, item.column, item.position) == (
        "Write the spec",
        "First draft",
        "Todo",
        2,
    )
    assert item.owner_id == owner_id
    assert (item.archived, item.deleted) == (False, False)


def test_created_event_carries_the_stripped_title_and_the_place() -> None:
    item = new_item(title="  Write the spec ", position=None)

    [event] = item.collect_events()

    assert isinstance(event, Item.Created)
    assert (event.title, event.column, event.position) == (
        "Write the spec",
        "Todo",
        None,
    )
    assert event.originator_version == 1


def test_created_event_is_class_version_2() -> None:
    assert Item.Created.class_version == 2


@pytest.mark.parametrize(
    ("title", "description", "position", "field"),
    [
        ("", "", None, "title"),
        ("   \t\n ", "", None, "title"),
        ("x" * (MAX_TITLE + 1), "", None, "title"),
        ("ok", "x" * (MAX_DESCRIPTION + 1), None, "description"),
        ("ok", "", -1, "position"),
    ],
    ids=[
        "empty-title",
        "whitespace-title",
        "title-over-200",
        "description-over-10000",
        "negative-position",
    ],
)
def test_create_with_invalid_field_raises_invalid_input_naming_it(
    title: str, description: str, position: int | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        Item.create(
            item_id=uuid4(),
            title=title,
            description=description,
            column="Todo",
            position=position,
            owner_id=uuid4(),
            meta=meta(),
        )

    assert excinfo.value.field == field


def test_title_and_description_at_their_limits_are_accepted() -> None:
    item = Item.create(
        item_id=uuid4(),
        title="t" * MAX_TITLE,
        description="d" * MAX_DESCRIPTION,
        column="Todo",
        position=0,
        owner_id=uuid4(),
        meta=meta(),
    )

    assert len(item.title) == MAX_TITLE
    assert len(item.description) == MAX_DESCRIPTION


# --- edit ---------------------------------------------------------------------


def test_edit_changes_title_and_description_and_appends_edited() -> None:
    item = new_item()
    item.collect_events()

    changed = item.edit(title=" New title ", description="New text", meta=meta())

    assert changed is True
    assert (item.title, item.description, item.version) == ("New title", "New text", 2)
    [event] = item.collect_events()
    assert isinstance(event, Item.Edited)
    assert (event.title, event.description) == ("New title", "New text")


def test_edit_of_title_only_keeps_the_description() -> None:
    item = new_item()

    item.edit(title="Only the title", description=None, meta=meta())

    assert (item.title, item.description) == ("Only the title", "First draft")


def test_edit_of_description_only_keeps_the_title() -> None:
    item = new_item(title="Keep me")

    item.edit(title=None, description="", meta=meta())

    assert (item.title, item.description) == ("Keep me", "")


def test_edit_without_change_returns_false_and_appends_nothing() -> None:
    item = new_item(title="Same")
    item.collect_events()

    changed = item.edit(title="  Same ", description="First draft", meta=meta())

    assert changed is False
    assert item.version == 1
    assert item.collect_events() == []


@pytest.mark.parametrize(
    ("title", "description", "field"),
    [
        ("", None, "title"),
        ("   ", None, "title"),
        ("x" * (MAX_TITLE + 1), None, "title"),
        (None, "x" * (MAX_DESCRIPTION + 1), "description"),
    ],
    ids=["empty-title", "whitespace-title", "title-over-200", "description-over-10000"],
)
def test_edit_with_invalid_field_raises_before_any_event(
    title: str | None, description: str | None, field: str
) -> None:
    item = new_item()
    item.collect_events()

    with pytest.raises(InvalidInput) as excinfo:
        item.edit(title=title, description=description, meta=meta())

    assert excinfo.value.field == field
    assert item.version == 1
    assert item.collect_events() == []
    assert (item.title, item.description) == ("Write the spec", "First draft")


# --- move, reassign, archive, restore, delete ---------------------------------


def test_move_takes_the_new_column_and_position() -> None:
    item = new_item()
    item.collect_events()

    item.move(column="Done", position=0, meta=meta())

    assert (item.column, item.position, item.version) == ("Done", 0, 2)
    [event] = item.collect_events()
    assert isinstance(event, Item.Moved)
    assert (event.column, event.position) == ("Done", 0)


def test_move_to_a_negative_position_raises_before_any_event() -> None:
    item = new_item(position=1)
    item.collect_events()

    with pytest.raises(InvalidInput) as excinfo:
        item.move(column="Done", position=-1, meta=meta())

    assert excinfo.value.field == "position"
    assert (item.column, item.position, item.version) == ("Todo", 1, 1)
    assert item.collect_events() == []


def test_reassign_to_another_owner_appends_owner_reassigned() -> None:
    item = new_item()
    item.collect_events()
    new_owner = uuid4()

    changed = item.reassign(owner_id=new_owner, meta=meta())

    assert changed is True
    assert item.owner_id == new_owner
    [event] = item.collect_events()
    assert isinstance(event, Item.OwnerReassigned)
    assert event.owner_id == new_owner


def test_reassign_to_the_current_owner_returns_false_and_appends_nothing() -> None:
    item = new_item()
    item.collect_events()

    changed = item.reassign(owner_id=item.owner_id, meta=meta())

    assert changed is False
    assert item.version == 1
    assert item.collect_events() == []


def test_archive_marks_the_item_archived() -> None:
    item = new_item()

    item.archive(meta=meta())

    assert item.archived is True
    assert isinstance(item.collect_events()[-1], Item.Archived)


def test_restore_unarchives_and_sends_the_item_to_the_end_of_its_column() -> None:
    item = new_item(position=4)
    item.archive(meta=meta())

    item.restore(meta=meta())

    assert item.archived is False
    assert item.position is None
    assert item.column == "Todo"
    assert isinstance(item.collect_events()[-1], Item.Restored)


def test_delete_marks_the_item_deleted() -> None:
    item = new_item()

    item.delete(meta=meta())

    assert item.deleted is True
    assert item.version == 2
    assert isinstance(item.collect_events()[-1], Item.Deleted)


# --- metadata on every event --------------------------------------------------


def _every_item_change(item: Item, m: EventMeta) -> None:
    item.edit(title="Edited", description=None, meta=m)
    item.move(column="Doing", position=0, meta=m)
    item.reassign(owner_id=uuid4(), meta=m)
    item.archive(meta=m)
    item.restore(meta=m)
    item.delete(meta=m)


def test_every_item_event_carries_the_metadata_with_the_channel_as_a_string() -> None:
    m = meta(actor_name="Alice Example", channel=Channel.UI)
    item = Item.create(
        item_id=uuid4(),
        title="t",
        description="",
        column="Todo",
        position=None,
        owner_id=uuid4(),
        meta=m,
    )

    _every_item_change(item, m)
    events = item.collect_events()

    assert [type(e) for e in events] == [
        Item.Created,
        Item.Edited,
        Item.Moved,
        Item.OwnerReassigned,
        Item.Archived,
        Item.Restored,
        Item.Deleted,
    ]
    for event in events:
        assert isinstance(event, HubEvent)
        assert event.actor_id == m.actor_id
        assert event.actor_name == "Alice Example"
        assert event.channel == "ui"
        assert type(event.channel) is str
        assert event.correlation_id == m.correlation_id
        assert event.command_id == m.command_id


def test_the_last_actor_is_remembered() -> None:
    item = new_item()

    bob = meta(actor_name="Bob")
    item.archive(meta=bob)

    assert (item.last_actor_id, item.last_actor_name) == (bob.actor_id, "Bob")


# --- recent_commands ----------------------------------------------------------


def test_a_command_id_maps_to_the_version_it_produced() -> None:
    create, edit = meta(), meta()
    item = Item.create(
        item_id=uuid4(),
        title="t",
        description="",
        column="Todo",
        position=None,
        owner_id=uuid4(),
        meta=create,
    )
    item.edit(title="t2", description=None, meta=edit)

    assert item.version_of_command(create.command_id) == 1
    assert item.version_of_command(edit.command_id) == 2
    assert item.version_of_command(uuid4()) is None


def test_a_command_that_appends_two_events_maps_to_the_later_version() -> None:
    item = new_item()
    m = meta()

    item.archive(meta=m)
    item.restore(meta=m)

    assert item.version_of_command(m.command_id) == 3


def test_recent_commands_keep_only_the_newest_window() -> None:
    create = meta()
    item = Item.create(
        item_id=uuid4(),
        title="t",
        description="",
        column="Todo",
        position=None,
        owner_id=uuid4(),
        meta=create,
    )
    moves = [meta() for _ in range(RECENT_COMMANDS_WINDOW + 1)]

    for n, m in enumerate(moves):
        item.move(column="Todo", position=n, meta=m)

    # 1 + 1001 distinct commands: the two oldest fell out of the window.
    assert len(item.recent_commands) == RECENT_COMMANDS_WINDOW
    assert item.version_of_command(create.command_id) is None
    assert item.version_of_command(moves[0].command_id) is None
    assert item.version_of_command(moves[1].command_id) == 3
    assert item.version_of_command(moves[-1].command_id) == RECENT_COMMANDS_WINDOW + 2


@pytest.mark.parametrize(
    "change",
    [
        lambda item, m: item.archive(meta=m),
        lambda item, m: item.move(column="Done", position=0, meta=m),
    ],
    ids=["archive", "move"],
)
def test_reusing_a_command_id_moves_it_to_the_newest_version(
    change: Callable[[Item, EventMeta], None],
) -> None:
    item = new_item()
    m = meta()
    item.edit(title="v2", description=None, meta=m)
    item.edit(title="v3", description=None, meta=meta())

    change(item, m)

    assert item.version_of_command(m.command_id) == 4
    assert list(item.recent_commands)[-1] == m.command_id.hex
