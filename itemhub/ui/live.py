"""Bridges the change feed into a NiceGUI ``Event`` that pages subscribe to."""

from __future__ import annotations

from collections.abc import Sequence

from nicegui import Event

from itemhub.facades import Queries
from itemhub.projections import (
    Delta,
    ItemRemoved,
)
from itemhub.ui.broadcast import BoardBroadcast
from itemhub.ui.components.cards import CardFaces
from itemhub.ui.presence import Presence


class LiveFeed:
    """One ``Event`` per process; a page subscribing inside its function is
    unsubscribed automatically when its client goes away."""

    def __init__(self, queries: Queries, columns: Sequence[str]) -> None:
        self.changed: Event[Sequence[Delta]] = Event()
        self.presence = Presence()
        self.faces = CardFaces()
        self.boards = BoardBroadcast(queries, columns, self.faces)
        self._unsubscribe = queries.subscribe(self._forward)

    def _forward(self, deltas: Sequence[Delta]) -> None:
        for delta in deltas:
            if isinstance(delta, ItemRemoved):
                self.faces.forget(delta.item_id)
        self.boards.on_deltas(deltas)
        self.changed.emit(deltas)

    def close(self) -> None:
        """Stop forwarding deltas."""
        self._unsubscribe()
