"""The board as a pure fold: rows, column order and owner names, no database."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from itemhub.events import HubEvent, Item, User
from itemhub.projections.dto import ItemCard

RANK_STEP = 1024.0
# Below this gap two neighbours can no longer be split: renumber the column.
MIN_GAP = 1e-6


class ColumnOrder:
    """The order of the visible cards of every column, as sparse float ranks.

    A move to index ``i`` takes a rank between the neighbours at ``i - 1`` and
    ``i``, so only the moved card changes (no renumbering of the column).
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[tuple[float, UUID]]] = {}
        self.renumbered: dict[UUID, float] = {}
        self.on_renumber: Callable[[dict[UUID, float]], None] | None = None

    def load(self, rows: Sequence[Any]) -> None:
        """Rebuild from (id, column_name, rank) rows."""
        self.columns = {}
        for row in rows:
            self._col(row.column_name).append((row.rank, row.id))
        for col in self.columns.values():
            col.sort()

    def _col(self, column: str) -> list[tuple[float, UUID]]:
        return self.columns.setdefault(column, [])

    def place(self, item_id: UUID, column: str, index: int | None) -> float:
        """Insert at ``index`` (None or past the end: last); returns the rank."""
        col = self._col(column)
        n = len(col)
        if index is None or index >= n:
            rank = col[-1][0] + RANK_STEP if n else RANK_STEP
        elif index == 0:
            rank = col[0][0] - RANK_STEP
        else:
            before, after = col[index - 1][0], col[index][0]
            if after - before < MIN_GAP:
                self._renumber(column)
                return self.place(item_id, column, index)
            rank = (before + after) / 2
        insort(col, (rank, item_id))
        return rank

    def remove(self, item_id: UUID, column: str, rank: float) -> None:
        """Take a card out of its column."""
        col = self._col(column)
        i = bisect_left(col, (rank, item_id))
        if i < len(col) and col[i] == (rank, item_id):
            del col[i]

    def index(self, item_id: UUID, column: str, rank: float) -> int:
        """The card's index in its column."""
        return bisect_left(self._col(column), (rank, item_id))

    def _renumber(self, column: str) -> None:
        col = self._col(column)
        fresh = [((i + 1) * RANK_STEP, item_id) for i, (_, item_id) in enumerate(col)]
        self.columns[column] = fresh
        self.renumbered.update({item_id: rank for rank, item_id in fresh})
        if self.on_renumber is not None:
            self.on_renumber({item_id: rank for rank, item_id in fresh})


class BoardState:
    """Folds item and user events into board rows; the live projection and time
    travel both fold with it, so a past board is built exactly as the live one."""

    def __init__(self) -> None:
        self.order = ColumnOrder()
        self.order.on_renumber = self._renumbered
        self.owners: dict[UUID, str] = {}
        # The rows in play: a renumbered column or a renamed owner must reach
        # them at once, or a later event finds a stale rank or name.
        self.rows: dict[UUID, dict[str, Any]] = {}

    def _renumbered(self, ranks: dict[UUID, float]) -> None:
        for item_id, rank in ranks.items():
            row = self.rows.get(item_id)
            if row is not None:
                row["rank"] = rank

    def rename_owner(self, event: User.Registered | User.ProfileChanged) -> str | None:
        """Take a user's display name; returns it if it changed."""
        name = event.full_name or event.email
        if self.owners.get(event.originator_id) == name:
            return None
        self.owners[event.originator_id] = name
        for row in self.rows.values():
            if row["owner_id"] == event.originator_id:
                row["owner_name"] = name
        return name

    def apply(self, event: HubEvent, position: int) -> None:
        """Fold one event of the log into ``rows`` (others are ignored)."""
        if isinstance(event, User.Registered | User.ProfileChanged):
            self.rename_owner(event)
        elif isinstance(event, Item.Event):
            row = self.fold(self.rows.get(event.originator_id), event, position)
            if row is None:
                self.rows.pop(event.originator_id, None)
            else:
                self.rows[event.originator_id] = row

    def fold(
        self, row: dict[str, Any] | None, event: Item.Event, position: int
    ) -> dict[str, Any] | None:
        """Apply one item event to its row in memory (None: the item is gone)."""
        if isinstance(event, Item.Created):
            row = {
                "id": event.originator_id,
                "title": event.title,
                "description": event.description,
                "column_name": event.column,
                "owner_id": event.owner_id,
                "owner_name": self.owners.get(event.owner_id, ""),
                "archived": False,
                "created_at": event.timestamp,
            }
            row["rank"] = self.order.place(
                event.originator_id, event.column, event.position
            )
        elif row is None:
            # Only events of items this read model never saw (impossible when
            # replaying from zero); refusing loudly beats inventing a row.
            raise LookupError(f"no row for item {event.originator_id}")
        elif isinstance(event, Item.Edited):
            row["title"], row["description"] = event.title, event.description
        elif isinstance(event, Item.Moved):
            if not row["archived"]:
                self.order.remove(row["id"], row["column_name"], row["rank"])
            row["column_name"] = event.column
            row["archived"] = False
            row["rank"] = self.order.place(row["id"], event.column, event.position)
        elif isinstance(event, Item.OwnerReassigned):
            row["owner_id"] = event.owner_id
            row["owner_name"] = self.owners.get(event.owner_id, "")
        elif isinstance(event, Item.Archived):
            self.order.remove(row["id"], row["column_name"], row["rank"])
            row["archived"] = True
        elif isinstance(event, Item.Restored):
            row["archived"] = False
            row["rank"] = self.order.place(row["id"], row["column_name"], None)
        elif isinstance(event, Item.Reverted):
            if not row["archived"]:
                self.order.remove(row["id"], row["column_name"], row["rank"])
            row["title"], row["description"] = event.title, event.description
            row["column_name"], row["archived"] = event.column, event.archived
            row["owner_id"] = event.owner_id
            row["owner_name"] = self.owners.get(event.owner_id, "")
            if not event.archived:
                row["rank"] = self.order.place(row["id"], event.column, event.position)
        elif isinstance(event, Item.Deleted):
            if not row["archived"]:
                self.order.remove(row["id"], row["column_name"], row["rank"])
            return None
        row["version"] = event.originator_version
        row["updated_at"] = event.timestamp
        row["changed_by_id"] = event.actor_id
        row["changed_by_name"] = event.actor_name
        row["last_position"] = position
        return row


# The row's columns an ItemCard takes as they are (a new field needs no edit here).
_SAME_NAMED = tuple(
    f.name for f in dataclasses.fields(ItemCard) if f.name not in ("column", "position")
)


def card_from_row(row: Any, position: int | None) -> ItemCard:
    """Turn an items row (mapping) into the DTO."""
    return ItemCard(
        **{name: row[name] for name in _SAME_NAMED},
        column=row["column_name"],
        position=position,
    )
