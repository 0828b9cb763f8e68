"""A board column: the cards one audience sees, and its element in each tab.

A column's cards are data shared by every tab that shows the same board
(``ColumnCards``); each tab has one element (``BoardColumn``) that points at
them. A change is applied once per shared board and sent to all its tabs as
one Socket.IO message (``itemhub.ui.broadcast``), which ``board_column.js``
applies in each browser.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from typing import Any

# Imported for its side effect: it registers the "nicegui-sortable" module
# (SortableJS) that board_column.js loads for drag and drop.
import nicegui.elements.sortable  # noqa: F401
from nicegui import ui

from itemhub.ui.components.cards import CardFace, CardJson, age, slug

FLASH_SECONDS = 2.5  # keep equal to FLASH_MS in board_column.js
OPEN_CARD = "open_card"  # the event board_column.js emits on a click
MOVE_CARD = "move_card"  # ... and at the end of a drag
SYNC = "sync"  # ... and when its board needs the server's whole state
BOARD_EVENT = "itemhub_board"  # keep equal to EVENT in board_column.js


def put(card: CardJson, flash: Flash | None = None) -> dict[str, Any]:
    """The operation that shows a card (at its rank) or a newer state of it."""
    if flash is None:
        return {"op": "put", "card": card, "flash": None}
    return {"op": "put", "card": card, "flash": flash.name, "by": flash.user_id}


def drop(item: str, version: int) -> dict[str, Any]:
    """The operation that removes a card shown at ``version`` or older."""
    return {"op": "drop", "item": item, "version": version}


@dataclass(frozen=True, slots=True)
class Flash:
    """Who changed a card, shown on it for a moment (not to that user)."""

    name: str
    user_id: str
    until: float


class ColumnCards:
    """The cards of one column as one audience sees them, in rank order."""

    def __init__(self, name: str, *, show_owner: bool) -> None:
        self.name = name
        self.show_owner = show_owner
        self.cards: list[CardJson] = []
        self.faces: dict[str, CardFace] = {}  # by item id text
        self.flashes: dict[str, Flash] = {}

    def place(self, face: CardFace, flash: Flash | None) -> dict[str, Any]:
        """Show (a newer state of) a card; returns the operation for browsers."""
        card = face.json(show_owner=self.show_owner)
        self._remove(card.item)
        at = bisect.bisect_left(self.cards, card.rank, key=_rank)
        self.cards.insert(at, card)
        self.faces[card.item] = face
        if flash is not None:
            self.flashes[card.item] = flash
        return put(card, flash)

    def take(self, item: str) -> dict[str, Any]:
        """Stop showing a card; returns the operation for browsers."""
        face = self.faces.get(item)
        version = face.card.version if face is not None else 0
        self._remove(item)
        return drop(item, version)

    def reset(self) -> dict[str, Any]:
        """The operation that makes a browser show exactly these cards."""
        return {"op": "reset", "cards": list(self.cards)}

    def copy(self) -> ColumnCards:
        """A snapshot that later changes leave alone."""
        copied = ColumnCards(self.name, show_owner=self.show_owner)
        copied.cards = list(self.cards)
        copied.faces = dict(self.faces)
        copied.flashes = dict(self.flashes)
        return copied

    def _remove(self, item: str) -> None:
        self.flashes.pop(item, None)
        if self.faces.pop(item, None) is None:
            return
        for i, shown in enumerate(self.cards):
            if shown.item == item:
                del self.cards[i]
                return


def _rank(card: CardJson) -> float:
    return card.rank


class BoardColumn(ui.element, component="board_column.js"):
    """One tab's element for a column: name, card count, a slot (quick-add)
    and the cards of its shared ``ColumnCards``."""

    def __init__(
        self, cards: ColumnCards, *, viewer: str, seq: int, sortable: bool
    ) -> None:
        super().__init__()
        self.name = cards.name
        self.viewer = viewer  # this tab's user: their own changes do not flash
        self._shown = cards
        self._props.update(
            {
                "column": cards.name,
                "slug": slug(cards.name),
                "sortable": sortable,
                "viewer": viewer,
                "seq": seq,
                "data-testid": f"column-{slug(cards.name)}",
            }
        )
        self._show(cards)
        self.mark(f"col-{cards.name}")

    @property
    def faces(self) -> dict[str, CardFace]:
        """What the tab shows of each card, by item id text."""
        return self._shown.faces

    def cards(self) -> list[CardFace]:
        """The cards this tab shows, in display order."""
        return [self._shown.faces[c.item] for c in self._shown.cards]

    def holds(self, item: str) -> bool:
        """Whether the column shows this item."""
        return item in self._shown.faces

    def follow(self, cards: ColumnCards, seq: int) -> None:
        """Show the shared cards again (the tab gets their changes again)."""
        dict.__setitem__(self._props, "seq", seq)
        self._show(cards)

    def freeze(self) -> None:
        """Keep what the tab has now: it gets no changes until it follows again."""
        self._show(self._shown.copy())

    def _show(self, cards: ColumnCards) -> None:
        self._shown = cards
        # Not through the observable props: an observed list would copy and
        # wrap every card, and announce each change as a full update.
        dict.__setitem__(self._props, "cards", cards.cards)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What board_column.js renders as text, for ElementFilter and
        # user.should_see in NiceGUI's user simulation.
        now = time.monotonic()
        shown = self._shown
        texts: list[Any] = [self.name, str(len(shown.cards))]
        for card in shown.cards:
            face = shown.faces[card.item]
            texts += [card.title, card.owner, age(face.card.created_at), card.snippet]
            flash = shown.flashes.get(card.item)
            if flash is not None and flash.user_id != self.viewer and now < flash.until:
                texts.append(f"changed by {flash.name}")
        return texts
