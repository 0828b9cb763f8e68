"""Checkpoints of the board's fold, so that time travel replays a few thousand
events from the nearest one instead of the whole log from position 1.

A checkpoint is the complete in-memory state of the fold (every item row,
archived ones included, the order of every column with its exact float
ranks, and the owner names) right after one position. Folding on from it
gives exactly what folding from zero gives. Checkpoints are a cache: written
lazily by the folds that pass them, ignored when made by other fold code, and
deletable at any time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from uuid import UUID

from sqlalchemy import Uuid, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

import itemhub.events.base
import itemhub.events.item
import itemhub.events.user
from itemhub.events import HubEvent
from itemhub.projections import board_state
from itemhub.projections.board_state import BoardState, card_from_row
from itemhub.projections.dto import ItemCard
from itemhub.readstore.schema import UTCDateTime, read_tables
from itemhub.readstore.store import ReadStore

# The fewest positions between two checkpoints. With many items the spacing
# grows with the item count (PER_ITEM positions per item), so that the cache
# stays about as large as the log (a checkpoint holds every item) while a
# fold from the nearest one stays short next to decoding the checkpoint.
SPACING = 4000
PER_ITEM = 0.5

# A folded row holds exactly the columns of the items read model, so a
# checkpoint stores those, in the table's order, without a list of its own.
_ITEMS = read_tables().items
ROW_KEYS = tuple(column.name for column in _ITEMS.columns)
_ROW_KEY_SET = frozenset(ROW_KEYS)
_UUID_KEYS = tuple(c.name for c in _ITEMS.columns if isinstance(c.type, Uuid))
_TIME_KEYS = tuple(c.name for c in _ITEMS.columns if isinstance(c.type, UTCDateTime))
# Bump when the encoding below changes (the fold's code is hashed anyway).
FORMAT = 1


class BoardFold:
    """The board folded in memory with the live projection's own pure fold."""

    def __init__(self) -> None:
        self.state = BoardState()
        self.rows = self.state.rows
        self.position = 0

    def apply(self, event: HubEvent, position: int) -> None:
        """Fold one event of the log (events the board ignores only advance)."""
        self.position = position
        self.state.apply(event, position)

    def board(self, columns: Sequence[str]) -> dict[str, list[ItemCard]]:
        """The visible cards of every column, in order (configured columns first)."""
        board: dict[str, list[ItemCard]] = {c: [] for c in columns}
        ordered = sorted(
            self.rows.values(), key=lambda r: (r["column_name"], r["rank"])
        )
        for row in ordered:
            if row["archived"]:
                continue
            cards = board.setdefault(row["column_name"], [])
            cards.append(card_from_row(row, len(cards)))
        return board

    def encode(self) -> bytes:
        """The whole state as compressed JSON (insertion orders kept)."""
        rows = []
        for row in self.rows.values():
            if row.keys() != _ROW_KEY_SET:
                # A field the items table lacks would be silently dropped.
                raise ValueError(f"unexpected row keys: {sorted(row)}")
            rows.append([_plain(row[key]) for key in ROW_KEYS])
        state = {
            "format": FORMAT,
            "position": self.position,
            "owners": [[k.hex, v] for k, v in self.state.owners.items()],
            "rows": rows,
            "order": [
                [column, [[rank, item.hex] for rank, item in cards]]
                for column, cards in self.state.order.columns.items()
            ],
        }
        text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
        # Level 1: most of the size for a fraction of the time of the default.
        return zlib.compress(text.encode(), 1)

    @classmethod
    def decode(cls, data: bytes) -> BoardFold:
        """The fold a checkpoint holds."""
        state = json.loads(zlib.decompress(data))
        if state["format"] != FORMAT:
            raise ValueError(f"checkpoint format {state['format']}, not {FORMAT}")
        fold = cls()
        fold.position = state["position"]
        # A few users own and change most items: make each UUID once.
        uuids: dict[str, UUID] = {}

        def uid(hex_: str) -> UUID:
            found = uuids.get(hex_)
            if found is None:
                found = uuids[hex_] = UUID(hex_)
            return found

        when = dt.datetime.fromisoformat
        fold.state.owners = {uid(k): v for k, v in state["owners"]}
        for values in state["rows"]:
            row = dict(zip(ROW_KEYS, values, strict=True))
            for key in _UUID_KEYS:
                if row[key] is not None:
                    row[key] = uid(row[key])
            for key in _TIME_KEYS:
                if row[key] is not None:
                    row[key] = when(row[key])
            fold.rows[row["id"]] = row
        fold.state.order.columns = {
            column: [(rank, uid(item)) for rank, item in cards]
            for column, cards in state["order"]
        }
        return fold


def _plain(value: object) -> object:
    """A row's value as JSON holds it (UUIDs as hex, times in ISO 8601)."""
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


@functools.cache
def fold_fingerprint() -> str:
    """A hash of the code that folds the board and decodes its events.

    A checkpoint made by other code (a fixed rank rule, a new upcaster) would
    silently disagree with a fresh fold, so each one is stored under this hash
    and only checkpoints of the running code are used.
    """
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    modules: tuple[ModuleType, ...] = (
        board_state,
        itemhub.events.base,
        itemhub.events.item,
        itemhub.events.user,
    )
    for name in (__file__, *(m.__file__ for m in modules)):
        if name is None:  # no source file (a frozen build): the format only
            continue
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:32]


class BoardCheckpoints:
    """The stored checkpoints of the board fold, in the read-model database."""

    def __init__(
        self, store: ReadStore, *, spacing: int = SPACING, per_item: float = PER_ITEM
    ) -> None:
        self.store = store
        self.table = store.tables.board_checkpoints
        self.spacing = spacing
        self.per_item = per_item
        self.fold = fold_fingerprint()

    def nearest(self, position: int) -> tuple[BoardFold | None, int | None]:
        """The newest checkpoint at or before ``position`` (None: none yet), and
        the position of the oldest one after it (None: none)."""
        t = self.table
        mine = t.c.fold == self.fold
        with self.store.reader.connect() as conn:
            found = conn.execute(
                select(t.c.state)
                .where(mine, t.c.position <= position)
                .order_by(t.c.position.desc())
                .limit(1)
            ).scalar()
            later = conn.execute(
                select(func.min(t.c.position)).where(mine, t.c.position > position)
            ).scalar()
        fold = None if found is None else BoardFold.decode(found)
        return fold, None if later is None else int(later)

    def due(self, fold: BoardFold, previous: int, later: int | None) -> bool:
        """Whether ``fold`` is far enough from the checkpoints around it to store."""
        gap = max(self.spacing, int(len(fold.rows) * self.per_item))
        return fold.position - previous >= gap and (
            later is None or later - fold.position >= gap
        )

    def save(self, fold: BoardFold) -> None:
        """Store ``fold`` as a checkpoint (a twin saved concurrently wins quietly)
        and drop the checkpoints of other fold code."""
        t = self.table
        data = fold.encode()
        with self.store.writer.begin() as conn:
            insert = (
                sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
            )
            conn.execute(delete(t).where(t.c.fold != self.fold))
            conn.execute(
                insert(t)
                .values(
                    fold=self.fold,
                    position=fold.position,
                    state=data,
                    created_at=dt.datetime.now(dt.UTC),
                )
                .on_conflict_do_nothing()
            )

    def positions(self) -> list[int]:
        """The positions of the usable checkpoints, oldest first."""
        t = self.table
        with self.store.reader.connect() as conn:
            return [
                int(p)
                for p in conn.execute(
                    select(t.c.position)
                    .where(t.c.fold == self.fold)
                    .order_by(t.c.position)
                ).scalars()
            ]

    def clear(self) -> None:
        """Delete every checkpoint."""
        with self.store.writer.begin() as conn:
            conn.execute(delete(self.table))
