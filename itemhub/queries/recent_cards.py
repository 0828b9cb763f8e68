"""The newest card each committed batch carried, so a write can answer with it.

A command's response shows its item as read-your-writes promises: at or after
the command's own commit. The batch that committed it carried exactly that
card (its column index included) in its ``ItemChanged`` delta, so answering
from here spares a query whose index count grows with the column.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from itemhub.projections.deltas import Delta, ItemChanged, ItemRemoved
from itemhub.projections.dto import ItemCard

RECENT_CARDS = 10_000


class RecentCards:
    """The last card committed for each recently changed item (thread-safe)."""

    def __init__(self, size: int = RECENT_CARDS) -> None:
        self._size = size
        self._cards: OrderedDict[UUID, tuple[int, ItemCard]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, deltas: Sequence[Delta]) -> None:
        """Keep the cards of a committed batch (called before its position moves)."""
        with self._lock:
            for delta in deltas:
                if isinstance(delta, ItemChanged):
                    self._cards[delta.item.id] = (delta.position, delta.item)
                    self._cards.move_to_end(delta.item.id)
                elif isinstance(delta, ItemRemoved):
                    self._cards.pop(delta.item_id, None)
            while len(self._cards) > self._size:
                self._cards.popitem(last=False)

    def after(self, item_id: UUID, position: int, version: int) -> ItemCard | None:
        """The card of ``version`` committed at or after ``position``, if kept."""
        with self._lock:
            found = self._cards.get(item_id)
        if found is None:
            return None
        committed_at, card = found
        if committed_at < position or card.version != version:
            return None
        return card
