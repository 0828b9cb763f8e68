"""The board: one row per live item, ordered inside each column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from itemhub.events import Item, User
from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.board_state import BoardState, card_from_row
from itemhub.projections.deltas import Delta, ItemChanged, ItemRemoved
from itemhub.projections.dto import ItemCard
from itemhub.readstore.bulk import bulk_insert


@dataclass(slots=True)
class Folded:
    """What a batch changed: the rows in play, and which changed or went."""

    rows: dict[UUID, dict[str, Any]]
    changed: dict[UUID, int] = field(default_factory=dict)  # item -> position
    removed: dict[UUID, tuple[int, UUID]] = field(default_factory=dict)  # -> owner
    owners_changed: dict[UUID, str] = field(default_factory=dict)  # owner -> name


class ItemsProjection(Projection):
    """Keeps ``items`` (the board) and ``item_owners`` (owner display names)."""

    name = "items"
    reads = (Item.Event, User.Registered, User.ProfileChanged)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = BoardState()
        self.order = self.state.order
        self._upserts: dict[str, Any] = {}
        # A replay into empty tables keeps every row in memory and writes each
        # once at the end (``finish``), not a page of upserts per batch.
        self._in_memory = False
        self._dirty: set[UUID] = set()  # items changed or gone since the last write
        self._owners_dirty: set[UUID] = set()
        self._written = False  # the first write goes into empty tables

    def _upsert(self, conn: Connection) -> Any:
        """The row upsert, built once per dialect."""
        # Building it cost more than running it for a one-item batch.
        dialect = conn.dialect.name
        if dialect not in self._upserts:
            t = self.tables.items
            stmt = _insert_for(conn)(t)
            columns = [c.name for c in t.columns if c.name != "id"]
            self._upserts[dialect] = stmt.on_conflict_do_update(
                index_elements=[t.c.id],
                set_={c: stmt.excluded[c] for c in columns},
            )
        return self._upserts[dialect]

    def load(self, conn: Connection) -> None:
        """Load column order and owner names."""
        t = self.tables.items
        self.order.load(
            conn.execute(
                select(t.c.id, t.c.column_name, t.c.rank).where(t.c.archived.is_(False))
            ).all()
        )
        o = self.tables.item_owners
        self.state.owners = {
            r.id: r.name for r in conn.execute(select(o.c.id, o.c.name))
        }
        self._in_memory = conn.execute(select(t.c.id).limit(1)).first() is None
        self.state.rows, self._dirty, self._owners_dirty = {}, set(), set()
        self._written = False

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Fold the batch in memory, then write each changed row once."""
        folded = self._fold_and_write(conn, events)
        deltas = self._deltas(folded)
        if events:
            deltas += self._restated(conn, folded, events[-1][1])
        return deltas

    def replay(self, conn: Connection, events: Sequence[EventAt]) -> None:
        """Fold without the deltas; into memory only if the tables started empty."""
        if not self._in_memory:
            self._fold_and_write(conn, events)
            return
        state = self.state
        for event, position in events:
            if isinstance(event, User.Registered | User.ProfileChanged):
                if state.rename_owner(event) is not None:
                    self._owners_dirty.add(event.originator_id)
                    # Its cards took the name: written at the end.
                    self._dirty.update(
                        i
                        for i, r in state.rows.items()
                        if r["owner_id"] == event.originator_id
                    )
            elif isinstance(event, Item.Event):
                state.apply(event, position)
                self._dirty.add(event.originator_id)
        self._dirty.update(self.order.renumbered)
        self.order.renumbered = {}

    def finish(self, conn: Connection) -> None:
        """Write the rows a replay changed in memory, each once."""
        if not self._in_memory:
            return
        t, o = self.tables.items, self.tables.item_owners
        rows = self.state.rows
        gone = [i for i in self._dirty if i not in rows]
        if gone:
            conn.execute(delete(t).where(t.c.id.in_(gone)))
        changed = [rows[i] for i in self._dirty if i in rows]
        owners = [{"id": i, "name": self.state.owners[i]} for i in self._owners_dirty]
        if not self._written:
            bulk_insert(conn, t, changed)
            bulk_insert(conn, o, owners)
            self._written = True
        else:
            if changed:
                conn.execute(self._upsert(conn), changed)
            if owners:
                self._upsert_owners(conn, owners)
        self._dirty, self._owners_dirty = set(), set()

    def _upsert_owners(self, conn: Connection, owners: list[dict[str, Any]]) -> None:
        o = self.tables.item_owners
        stmt = _insert_for(conn)(o)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[o.c.id], set_={"name": stmt.excluded.name}
            ),
            owners,
        )

    def _fold_and_write(self, conn: Connection, events: Sequence[EventAt]) -> Folded:
        t = self.tables.items
        ids = {e.originator_id for e, _ in events if isinstance(e, Item.Event)}
        rows: dict[UUID, dict[str, Any]] = {}
        if ids:
            for found in conn.execute(select(t).where(t.c.id.in_(ids))).mappings():
                rows[found["id"]] = dict(found)
        self.order.renumbered = {}
        self.state.rows = rows
        folded = Folded(rows)
        for event, position in events:
            if isinstance(event, User.Registered | User.ProfileChanged):
                name = self.state.rename_owner(event)
                if name is not None:
                    folded.owners_changed[event.originator_id] = name
                continue
            if not isinstance(event, Item.Event):
                continue
            item_id = event.originator_id
            row = self.state.fold(rows.get(item_id), event, position)
            if row is None:
                folded.removed[item_id] = (position, rows.pop(item_id)["owner_id"])
                folded.changed.pop(item_id, None)
                continue
            rows[item_id] = row
            folded.changed[item_id] = position
        self._write(conn, folded)
        return folded

    def _restated(self, conn: Connection, folded: Folded, position: int) -> list[Delta]:
        """Items whose row changed without an event of their own, as they are now.

        A renumbered column rewrites its cards' ranks, and a renamed owner the
        name on every card of theirs. Open boards order and label cards by
        these; without a delta they would keep the old ones. The version stays
        the same: nothing happened to the item itself.
        """
        ids = set(self.order.renumbered)
        if not ids and not folded.owners_changed:
            return []
        t = self.tables.items
        owners = list(folded.owners_changed)
        query = select(t).where(t.c.id.in_(ids) | t.c.owner_id.in_(owners))
        return [
            ItemChanged(position=position, item=self._card(row))
            for row in conn.execute(query).mappings()
            if row["id"] not in folded.changed and row["id"] not in folded.removed
        ]

    def _write(self, conn: Connection, folded: Folded) -> None:
        rows, changed, removed = folded.rows, folded.changed, folded.removed
        owners_changed = folded.owners_changed
        t = self.tables.items
        if owners_changed:
            self._upsert_owners(
                conn, [{"id": k, "name": v} for k, v in owners_changed.items()]
            )
            # Rows of this batch took the name as the fold met it; the rest here.
            for owner_id, name in owners_changed.items():
                conn.execute(
                    update(t).where(t.c.owner_id == owner_id).values(owner_name=name)
                )
        if removed:
            conn.execute(delete(t).where(t.c.id.in_(list(removed))))
        if changed:
            conn.execute(self._upsert(conn), [rows[i] for i in changed])
        # Renumbered neighbours keep their order; only their stored rank moves.
        stale = {k: v for k, v in self.order.renumbered.items() if k not in changed}
        if stale:
            # One executemany: a renumbered column is hundreds of rows.
            conn.execute(
                update(t)
                .where(t.c.id == bindparam("item_id"))
                .values(rank=bindparam("new_rank")),
                [{"item_id": k, "new_rank": v} for k, v in stale.items()],
            )

    def _card(self, row: Any) -> ItemCard:
        """A row as the card deltas carry, with its index in its column."""
        index = (
            None
            if row["archived"]
            else self.order.index(row["id"], row["column_name"], row["rank"])
        )
        return card_from_row(row, index)

    def _deltas(self, folded: Folded) -> list[Delta]:
        deltas: list[Delta] = []
        for item_id, position in folded.changed.items():
            deltas.append(
                ItemChanged(position=position, item=self._card(folded.rows[item_id]))
            )
        for item_id, (position, owner_id) in folded.removed.items():
            deltas.append(
                ItemRemoved(position=position, item_id=item_id, owner_id=owner_id)
            )
        deltas.sort(key=lambda d: d.position)
        return deltas


def _insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` on both backends."""
    return sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
