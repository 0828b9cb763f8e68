"""The cards a write answers with: only its own commit's, or a newer one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from uuid import uuid4

from itemhub.projections.deltas import ItemChanged, ItemRemoved
from itemhub.projections.dto import ItemCard
from itemhub.queries.recent_cards import RecentCards

NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)


def _card(version: int = 1, position: int = 0) -> ItemCard:
    owner = uuid4()
    return ItemCard(
        id=uuid4(),
        title="card",
        description="",
        column="Todo",
        rank=1024.0,
        position=position,
        owner_id=owner,
        owner_name="Ann",
        archived=False,
        version=version,
        created_at=NOW,
        updated_at=NOW,
        changed_by_id=owner,
        changed_by_name="Ann",
        last_position=7,
    )


def test_a_card_is_given_for_its_commit_or_a_later_one_of_the_same_version() -> None:
    recent = RecentCards()
    card = _card()
    recent.take([ItemChanged(position=7, item=card)])

    assert recent.after(card.id, 7, 1) is card
    assert recent.after(card.id, 5, 1) is card
    # A later command (an unchanged edit, say) needs a newer state than this.
    assert recent.after(card.id, 8, 1) is None
    assert recent.after(card.id, 7, 2) is None


def test_a_removed_item_and_the_oldest_beyond_the_size_are_forgotten() -> None:
    recent = RecentCards(size=2)
    first, second, third = _card(), _card(), _card()
    recent.take(
        [ItemChanged(position=n, item=c) for n, c in enumerate((first, second))]
    )
    recent.take([ItemChanged(position=3, item=third)])
    recent.take([ItemRemoved(position=4, item_id=second.id, owner_id=second.owner_id)])

    assert recent.after(first.id, 0, 1) is None
    assert recent.after(second.id, 1, 1) is None
    assert recent.after(third.id, 3, 1) is third


def test_a_restated_card_replaces_the_one_before() -> None:
    recent = RecentCards()
    card = _card(position=0)
    moved_down = dataclasses.replace(card, position=1)
    recent.take([ItemChanged(position=7, item=card)])
    recent.take([ItemChanged(position=9, item=moved_down)])

    assert recent.after(card.id, 7, 1) is moved_down
