"""A board column as one NiceGUI element whose cards are data, not elements.

The server keeps what each tab shows, and sends each change to each tab as one
small message of card operations that ``board_column.js`` applies. A card is
shared data, so an open tab costs little memory (bench.fanout), and a change
costs each tab a few hundred bytes, not the re-serialisation of whole columns.
"""

from __future__ import annotations

import bisect
import time
from typing import Any

# Imported for its side effect: it registers the "nicegui-sortable" module
# (SortableJS) that board_column.js loads for drag and drop.
import nicegui.elements.sortable  # noqa: F401
from nicegui import json, ui

from itemhub.ui.components.cards import CardFace, CardJson, age, slug

FLASH_SECONDS = 2.5  # keep equal to FLASH_MS in board_column.js
OPEN_CARD = "open_card"  # the event board_column.js emits on a click
MOVE_CARD = "move_card"  # ... and at the end of a drag
OPS_QUEUE = "__itemhub_ops"  # keep equal to QUEUE in board_column.js
OPS_DRAIN = "__itemhub_drain"  # ... and to the window function it sets


def put(card: CardJson, flashed_by: str | None = None) -> dict[str, Any]:
    """The operation that shows a card (at its rank) or a newer state of it."""
    return {"op": "put", "card": card, "flash": flashed_by}


def drop(item: str, version: int) -> dict[str, Any]:
    """The operation that removes a card shown at ``version`` or older."""
    return {"op": "drop", "item": item, "version": version}


class BoardColumn(ui.element, component="board_column.js"):
    """A board column: name, card count, a slot (quick-add) and its cards.

    ``props["cards"]`` is what the tab shows, in rank order; it is changed in
    place (the page's first render and a reload read it) and each change is
    sent as operations that the browser applies to its own copy.
    """

    def __init__(self, name: str, *, sortable: bool, show_owner: bool) -> None:
        super().__init__()
        self.name = name
        self.show_owner = show_owner
        self.faces: dict[str, CardFace] = {}  # by item id text
        self._flashes: dict[str, tuple[str, float]] = {}  # item -> who, until
        self._cards: list[CardJson] = []
        self._props.update(
            {
                "eid": self.id,
                "column": name,
                "slug": slug(name),
                "sortable": sortable,
                "data-testid": f"column-{slug(name)}",
            }
        )
        # Not through the observable props: an observed list would copy and
        # wrap every card, and announce each change as a full update.
        dict.__setitem__(self._props, "cards", self._cards)
        self.mark(f"col-{name}")

    def cards(self) -> list[CardFace]:
        """The cards this tab shows, in display order."""
        return [self.faces[c.item] for c in self._cards]

    def holds(self, item: str) -> bool:
        """Whether the column shows this item."""
        return item in self.faces

    def place(self, face: CardFace, flashed_by: str | None) -> dict[str, Any]:
        """Show (a newer state of) a card; returns the operation for the browser."""
        card = face.json(show_owner=self.show_owner)
        self._remove(card.item)
        at = bisect.bisect_left(self._cards, card.rank, key=_rank)
        self._cards.insert(at, card)
        self.faces[card.item] = face
        if flashed_by is not None:
            self._flashes[card.item] = (flashed_by, time.monotonic() + FLASH_SECONDS)
        return put(card, flashed_by)

    def take(self, item: str) -> dict[str, Any]:
        """Stop showing a card; returns the operation for the browser."""
        face = self.faces.get(item)
        version = face.card.version if face is not None else 0
        self._remove(item)
        return drop(item, version)

    def reset(self) -> dict[str, Any]:
        """The operation that makes the browser show exactly the server's list."""
        return {"op": "reset", "cards": list(self._cards)}

    def _remove(self, item: str) -> None:
        self._flashes.pop(item, None)
        if self.faces.pop(item, None) is None:
            return
        for i, shown in enumerate(self._cards):
            if shown.item == item:
                del self._cards[i]
                return

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What board_column.js renders as text, for ElementFilter and
        # user.should_see in NiceGUI's user simulation.
        now = time.monotonic()
        shown: list[Any] = [self.name, str(len(self._cards))]
        for card in self._cards:
            face = self.faces[card.item]
            shown += [card.title, card.owner, age(face.card.created_at), card.snippet]
            who, until = self._flashes.get(card.item, ("", 0.0))
            if now < until:
                shown.append(f"changed by {who}")
        return shown


def _rank(card: CardJson) -> float:
    return card.rank


def send_operations(column_ops: dict[BoardColumn, list[dict[str, Any]]]) -> None:
    """Send one tab's operations, for any of its columns, as one message."""
    if not column_ops:
        return
    client = next(iter(column_ops)).client
    if client.is_deleted:
        return
    # Queued in the page, then applied by each column's component: an
    # operation that arrives before its column has mounted (the first moments
    # of a page) is kept for it, not lost. (Element.run_method would drop it.)
    code = (
        "".join(
            f"(window.{OPS_QUEUE}=window.{OPS_QUEUE}||[]).push([{column.id},"
            f"{json.dumps(ops)}]);"
            for column, ops in column_ops.items()
        )
        + f"window.{OPS_DRAIN}&&window.{OPS_DRAIN}()"
    )
    # What Element.run_method sends, without a background task per call: this
    # runs for every open tab on every change.
    client.outbox.enqueue_message("run_javascript", {"code": code}, client.id)
