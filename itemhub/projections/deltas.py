"""Typed changes a projection publishes after it commits."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from itemhub.projections.dto import ActivityEntry, ItemCard, UserView


@dataclass(frozen=True, slots=True)
class ItemChanged:
    """An item was created or changed; ``item`` is its new state."""

    position: int
    item: ItemCard
    kind: str = "item.changed"


@dataclass(frozen=True, slots=True)
class ItemRemoved:
    """An item was deleted."""

    position: int
    item_id: UUID
    owner_id: UUID
    kind: str = "item.removed"


@dataclass(frozen=True, slots=True)
class UserChanged:
    """A user was registered or changed."""

    position: int
    user: UserView
    kind: str = "user.changed"


@dataclass(frozen=True, slots=True)
class ActivityAdded:
    """An event entered the audit trail."""

    position: int
    entry: ActivityEntry
    kind: str = "activity.added"


Delta = ItemChanged | ItemRemoved | UserChanged | ActivityAdded
