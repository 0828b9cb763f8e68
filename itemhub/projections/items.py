"""The board: one row per live item, ordered inside each column."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from itemhub.events import Item, User
from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.deltas import Delta, ItemChanged, ItemRemoved
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


class ItemsProjection(Projection):
    """Keeps ``items`` (the board) and ``item_owners`` (owner display names)."""

    name = "items"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = ColumnOrder()
        self.order.on_renumber = self._renumbered
        self.owners: dict[UUID, str] = {}
        # The rows of the batch being folded: a renumbered column must update
        # their ranks at once, or a later event in the batch finds a stale one.
        self.batch_rows: dict[UUID, dict[str, Any]] = {}

    def _renumbered(self, ranks: dict[UUID, float]) -> None:
        for item_id, rank in ranks.items():
            row = self.batch_rows.get(item_id)
            if row is not None:
                row["rank"] = rank

    def load(self, conn: Connection) -> None:
        """Load column order and owner names."""
        t = self.tables.items
        self.order.load(
            conn.execute(
                select(t.c.id, t.c.column_name, t.c.rank).where(t.c.archived.is_(False))
            ).all()
        )
        o = self.tables.item_owners
        self.owners = {r.id: r.name for r in conn.execute(select(o.c.id, o.c.name))}

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Fold the batch in memory, then write each changed row once."""
        t = self.tables.items
        ids = {e.originator_id for e, _ in events if isinstance(e, Item.Event)}
        rows: dict[UUID, dict[str, Any]] = {}
        if ids:
            for found in conn.execute(select(t).where(t.c.id.in_(ids))).mappings():
                rows[found["id"]] = dict(found)
        self.order.renumbered = {}
        self.batch_rows = rows
        changed: dict[UUID, int] = {}
        removed: dict[UUID, tuple[int, UUID]] = {}
        owners_changed: dict[UUID, str] = {}
        for event, position in events:
            if isinstance(event, User.Registered | User.ProfileChanged):
                name = event.full_name or event.email
                if self.owners.get(event.originator_id) != name:
                    self.owners[event.originator_id] = name
                    owners_changed[event.originator_id] = name
                continue
            if not isinstance(event, Item.Event):
                continue
            item_id = event.originator_id
            folded = self.fold(rows.get(item_id), event, position)
            if folded is None:
                removed[item_id] = (position, rows.pop(item_id)["owner_id"])
                changed.pop(item_id, None)
                continue
            rows[item_id] = folded
            changed[item_id] = position
        self._write(conn, rows, changed, removed, owners_changed)
        deltas = self._deltas(rows, changed, removed)
        if events:
            deltas += self._restated(
                conn, changed, removed, owners_changed, events[-1][1]
            )
        return deltas

    def _restated(
        self,
        conn: Connection,
        changed: dict[UUID, int],
        removed: dict[UUID, tuple[int, UUID]],
        owners_changed: dict[UUID, str],
        position: int,
    ) -> list[Delta]:
        """Items whose row changed without an event of their own, as they are now.

        A renumbered column rewrites its cards' ranks, and a renamed owner the
        name on every card of theirs. Open boards order and label cards by
        these; without a delta they would keep the old ones. The version stays
        the same: nothing happened to the item itself.
        """
        ids = set(self.order.renumbered)
        if not ids and not owners_changed:
            return []
        t = self.tables.items
        owners = list(owners_changed)
        query = select(t).where(t.c.id.in_(ids) | t.c.owner_id.in_(owners))
        return [
            ItemChanged(position=position, item=self._card(row))
            for row in conn.execute(query).mappings()
            if row["id"] not in changed and row["id"] not in removed
        ]

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

    def _write(
        self,
        conn: Connection,
        rows: dict[UUID, dict[str, Any]],
        changed: dict[UUID, int],
        removed: dict[UUID, tuple[int, UUID]],
        owners_changed: dict[UUID, str],
    ) -> None:
        t, o = self.tables.items, self.tables.item_owners
        ins = _insert_for(conn)
        if owners_changed:
            stmt = ins(o)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[o.c.id], set_={"name": stmt.excluded.name}
                ),
                [{"id": k, "name": v} for k, v in owners_changed.items()],
            )
            for owner_id, name in owners_changed.items():
                conn.execute(
                    update(t).where(t.c.owner_id == owner_id).values(owner_name=name)
                )
                for row in rows.values():
                    if row["owner_id"] == owner_id:
                        row["owner_name"] = name
        if removed:
            conn.execute(delete(t).where(t.c.id.in_(list(removed))))
        if changed:
            stmt = ins(t)
            columns = [c.name for c in t.columns if c.name != "id"]
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.id],
                    set_={c: stmt.excluded[c] for c in columns},
                ),
                [rows[i] for i in changed],
            )
        # Renumbered neighbours keep their order; only their stored rank moves.
        stale = {k: v for k, v in self.order.renumbered.items() if k not in changed}
        for item_id, rank in stale.items():
            conn.execute(update(t).where(t.c.id == item_id).values(rank=rank))

    def _card(self, row: Any) -> ItemCard:
        """A row as the card deltas carry, with its index in its column."""
        index = (
            None
            if row["archived"]
            else self.order.index(row["id"], row["column_name"], row["rank"])
        )
        return card_from_row(row, index)

    def _deltas(
        self,
        rows: dict[UUID, dict[str, Any]],
        changed: dict[UUID, int],
        removed: dict[UUID, tuple[int, UUID]],
    ) -> list[Delta]:
        deltas: list[Delta] = []
        for item_id, position in changed.items():
            deltas.append(
                ItemChanged(position=position, item=self._card(rows[item_id]))
            )
        for item_id, (position, owner_id) in removed.items():
            deltas.append(
                ItemRemoved(position=position, item_id=item_id, owner_id=owner_id)
            )
        deltas.sort(key=lambda d: d.position)
        return deltas


def card_from_row(row: Any, position: int | None) -> ItemCard:
    """Turn an items row (mapping) into the DTO."""
    return ItemCard(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        column=row["column_name"],
        rank=row["rank"],
        position=position,
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        archived=row["archived"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        changed_by_id=row["changed_by_id"],
        changed_by_name=row["changed_by_name"],
        last_position=row["last_position"],
    )


def _insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` on both backends."""
    return sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
