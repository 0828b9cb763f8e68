"""Command → event → projection → query, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from itemhub.commands import Conflict, CreateItem, EditItem, MoveItem
from itemhub.readside.replay import differences
from itemhub.runtime import Hub
from tests.conftest import register


def test_created_item_is_on_the_board_when_the_command_returns(hub: Hub) -> None:
    alice = register(hub)
    result = hub.bus.handle(
        CreateItem(title="Write the spec", description="v1", column="Todo"), alice
    )
    card = hub.read.item(result.aggregate_id)
    assert card is not None
    assert (card.title, card.column, card.position, card.version) == (
        "Write the spec",
        "Todo",
        0,
        1,
    )
    assert card.owner_id == alice.actor_id
    assert hub.read.board()["Todo"] == [card]
    entry = hub.read.activity(target_id=result.aggregate_id)[0]
    assert (entry.action, entry.actor_id, entry.channel) == (
        "item.created",
        alice.actor_id,
        "api",
    )


def test_moves_keep_a_dense_order_in_each_column(hub: Hub) -> None:
    alice = register(hub)
    ids = [
        hub.bus.handle(CreateItem(title=f"card {n}", column="Todo"), alice).aggregate_id
        for n in range(4)
    ]
    hub.bus.handle(MoveItem(item_id=ids[3], column="Todo", position=0), alice)
    hub.bus.handle(MoveItem(item_id=ids[0], column="Done", position=5), alice)
    hub.bus.handle(MoveItem(item_id=ids[1], column="Todo", position=1), alice)
    board = hub.read.board()
    assert [c.title for c in board["Todo"]] == ["card 3", "card 1", "card 2"]
    assert [c.position for c in board["Todo"]] == [0, 1, 2]
    assert [c.title for c in board["Done"]] == ["card 0"]


def test_two_moves_at_the_same_version_one_wins_one_conflicts(hub: Hub) -> None:
    alice = register(hub)
    item = hub.bus.handle(CreateItem(title="contested", column="Todo"), alice)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def move(column: str) -> None:
        barrier.wait()
        try:
            outcomes.append(
                hub.bus.handle(
                    MoveItem(
                        item_id=item.aggregate_id,
                        column=column,
                        position=0,
                        expected_version=1,
                    ),
                    alice,
                )
            )
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=move, args=(c,)) for c in ("Doing", "Done")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(conflicts) == 1
    assert conflicts[0].current_version == 2
    events = list(hub.app.events.get(item.aggregate_id))
    assert [type(e).__name__ for e in events] == ["Created", "Moved"]


def test_a_retried_command_appends_nothing_and_returns_the_first_result(
    hub: Hub,
) -> None:
    alice = register(hub)
    create = CreateItem(title="once", column="Todo")
    first = hub.bus.handle(create, alice)
    again = hub.bus.handle(create, alice)
    assert (again.aggregate_id, again.version, again.replayed) == (
        first.aggregate_id,
        first.version,
        True,
    )
    edit = EditItem(item_id=first.aggregate_id, title="renamed", expected_version=1)
    edited = hub.bus.handle(edit, alice)
    head = hub.head()
    replayed = hub.bus.handle(edit, alice)
    assert replayed.version == edited.version == 2
    assert hub.head() == head
    assert len(list(hub.app.events.get(first.aggregate_id))) == 2


@pytest.mark.parametrize("name", ["items", "users", "activity"])
def test_live_read_models_equal_a_replay_from_zero(hub: Hub, name: str) -> None:
    alice = register(hub)
    for n in range(5):
        item = hub.bus.handle(CreateItem(title=f"t{n}", column="Backlog"), alice)
        hub.bus.handle(
            MoveItem(item_id=item.aggregate_id, column="Doing", position=0), alice
        )
    position, found = differences(hub.app, hub.store, name)
    assert position == hub.head()
    assert found == []
