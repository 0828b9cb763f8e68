"""The board's pure fold: rows, column order and owner names, with no database."""

from __future__ import annotations

from itertools import count
from uuid import uuid4

from itemhub.events import Channel, EventMeta, HubEvent, Item, User
from itemhub.projections.board_state import BoardState

ADMIN = EventMeta(
    actor_id=uuid4(),
    actor_name="Admin",
    channel=Channel.CLI,
    correlation_id=uuid4(),
    command_id=uuid4(),
)


def fold(state: BoardState, *aggregates: Item | User, start: count[int]) -> None:
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            assert isinstance(event, HubEvent)
            state.apply(event, next(start))


def titles(state: BoardState, column: str) -> list[str]:
    rows = [r for r in state.rows.values() if r["column_name"] == column]
    return [r["title"] for r in sorted(rows, key=lambda r: r["rank"])]


def test_created_cards_keep_their_column_order_and_a_move_changes_only_itself() -> None:
    state, positions = BoardState(), count(1)
    owner = uuid4()
    cards = [
        Item.create(
            item_id=uuid4(),
            title=title,
            description="",
            column="Todo",
            position=None,
            owner_id=owner,
            meta=ADMIN,
        )
        for title in ("a", "b", "c")
    ]
    fold(state, *cards, start=positions)
    ranks = {r["title"]: r["rank"] for r in state.rows.values()}

    cards[2].move(column="Todo", position=0, meta=ADMIN)
    fold(state, cards[2], start=positions)

    assert titles(state, "Todo") == ["c", "a", "b"]
    assert state.rows[cards[0].id]["rank"] == ranks["a"]  # no renumbering
    assert state.rows[cards[2].id]["version"] == 2


def test_moves_into_one_slot_renumber_the_column_and_the_rows_follow() -> None:
    state, positions = BoardState(), count(1)
    cards = [
        Item.create(
            item_id=uuid4(),
            title=str(n),
            description="",
            column="Todo",
            position=None,
            owner_id=uuid4(),
            meta=ADMIN,
        )
        for n in range(3)
    ]
    fold(state, *cards, start=positions)
    for _ in range(60):  # each halves the gap before index 1 until it is gone
        cards[2].move(column="Todo", position=1, meta=ADMIN)
        cards[1].move(column="Todo", position=1, meta=ADMIN)
        fold(state, cards[2], cards[1], start=positions)

    assert titles(state, "Todo") == ["0", "1", "2"]
    assert state.order.renumbered  # the column was renumbered on the way
    order = [rank for rank, _ in state.order.columns["Todo"]]
    assert order == sorted(r["rank"] for r in state.rows.values())


def test_a_renamed_owner_is_named_on_every_card_and_on_later_ones() -> None:
    state, positions = BoardState(), count(1)
    user = User.register(
        user_id=uuid4(),
        email="erin@example.com",
        full_name="Erin",
        password_hash="x",
        is_superuser=False,
        meta=ADMIN,
    )
    first = Item.create(
        item_id=uuid4(),
        title="first",
        description="",
        column="Todo",
        position=None,
        owner_id=user.id,
        meta=ADMIN,
    )
    fold(state, user, first, start=positions)
    assert state.rows[first.id]["owner_name"] == "Erin"

    user.change_profile(email=user.email, full_name="Erin B.", meta=ADMIN)
    later = Item.create(
        item_id=uuid4(),
        title="later",
        description="",
        column="Done",
        position=None,
        owner_id=user.id,
        meta=ADMIN,
    )
    fold(state, user, later, start=positions)

    assert {r["owner_name"] for r in state.rows.values()} == {"Erin B."}
