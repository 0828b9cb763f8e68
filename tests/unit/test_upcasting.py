"""Stored version-1 events still load: ``Item.Created`` v1 had no ``position``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from itemhub.commands import ArchiveItem, EditItem, MoveItem, NotFound, RestoreItem
from itemhub.events import Item
from itemhub.eventstore import ItemHub
from tests.unit.conftest import Board, new_item

FIXTURE = Path(__file__).parent.parent / "fixtures" / "item_created_v1.json"
CREATED_TOPIC = "itemhub.events.item:Item.Created"
V1_ITEM_ID = UUID("7e4f9b2a-1c3d-5e6f-8a9b-0c1d2e3f4a5b")
V1_OWNER_ID = UUID("0b6f3c1e-7d2a-5c4b-9e8f-1a2b3c4d5e6f")
V1_COMMAND_ID = UUID("c3d9e8f7-6a5b-4c3d-8e2f-1a0b9c8d7e6f")


def v1_state() -> bytes:
    """The stored state of the v1 event, exactly as it sits in the database."""
    return FIXTURE.read_bytes().strip()


def insert_v1_item(app: ItemHub) -> None:
    """Store the v1 ``Created`` event as version 1 of ``V1_ITEM_ID``."""
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=V1_ITEM_ID,
                originator_version=1,
                topic=CREATED_TOPIC,
                state=v1_state(),
            )
        ]
    )


def current_created_state(app: ItemHub) -> dict[str, Any]:
    """The stored state of an ``Item.Created`` event written today."""
    app.save(new_item(position=0))
    [notification] = app.recorder.select_notifications(start=1, limit=1)
    assert notification.topic == CREATED_TOPIC
    state: dict[str, Any] = json.loads(notification.state)
    return state


def test_fixture_is_a_v1_event_the_current_one_minus_position(
    app: ItemHub,
) -> None:
    v1: dict[str, Any] = json.loads(v1_state())
    current = current_created_state(app)

    assert "position" not in v1
    assert "class_version" not in v1
    assert current["class_version"] == 2
    assert set(current) - set(v1) == {"position", "class_version"}
    assert set(v1) <= set(current)


def test_v1_created_event_loads_with_no_position(app: ItemHub) -> None:
    insert_v1_item(app)

    item: object = app.repository.get(V1_ITEM_ID)

    assert isinstance(item, Item)
    assert item.position is None
    assert (item.title, item.column, item.owner_id) == (
        "Write the onboarding guide",
        "Todo",
        V1_OWNER_ID,
    )
    assert (item.archived, item.deleted, item.version) == (False, False, 1)
    assert item.last_actor_name == "Alice Example"
    assert item.version_of_command(V1_COMMAND_ID) == 1


def test_v1_event_reads_back_as_a_current_event_with_its_metadata(
    app: ItemHub,
) -> None:
    insert_v1_item(app)

    [notification] = app.recorder.select_notifications(start=1, limit=1)
    event = app.mapper.to_domain_event(notification)

    assert isinstance(event, Item.Created)
    assert event.position is None
    assert (event.actor_id, event.actor_name, event.channel) == (
        V1_OWNER_ID,
        "Alice Example",
        "api",
    )
    assert event.command_id == V1_COMMAND_ID


def test_a_v1_item_moves_through_the_bus(board: Board) -> None:
    insert_v1_item(board.app)

    result = board.run(
        MoveItem(item_id=V1_ITEM_ID, column="doing", position=0, expected_version=1)
    )

    item = board.item(V1_ITEM_ID)
    assert (result.version, result.replayed) == (2, False)
    assert (item.column, item.position) == ("Doing", 0)


def test_a_v1_item_keeps_working_through_its_life(board: Board) -> None:
    insert_v1_item(board.app)

    board.run(EditItem(item_id=V1_ITEM_ID, title="Onboarding guide"))
    board.run(ArchiveItem(item_id=V1_ITEM_ID))
    board.run(RestoreItem(item_id=V1_ITEM_ID))

    item = board.item(V1_ITEM_ID)
    assert (item.title, item.archived, item.position, item.version) == (
        "Onboarding guide",
        False,
        None,
        4,
    )


def test_a_v1_item_is_invisible_to_other_standard_users(board: Board) -> None:
    insert_v1_item(board.app)
    bob = board.register("Bob")

    with pytest.raises(NotFound):
        board.run(MoveItem(item_id=V1_ITEM_ID, column="Done", position=0), bob)
