"""The live board of one browser tab: a column element per board column.

A column is one NiceGUI element (``board_column.js``) that renders its cards
itself. The server keeps what each tab shows, and sends each change to each tab
as one small message of card operations. A card is shared data, not an element,
so an open tab costs little memory (bench.fanout), and a change costs each tab a
few hundred bytes, not the re-serialisation of two whole columns.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

# Imported for its side effect: it registers the "nicegui-sortable" module
# (SortableJS) that board_column.js loads for drag and drop.
import nicegui.elements.sortable  # noqa: F401
from nicegui import json, ui
from nicegui.events import GenericEventArguments

from itemhub.commands import Conflict, CreateItem, DomainError, MoveItem
from itemhub.projections import (
    Delta,
    ItemCard,
    ItemChanged,
    ItemRemoved,
    UserCredentials,
)
from itemhub.runtime import Hub
from itemhub.ui.session import in_thread, still_logged_in, ui_context

FLASH_SECONDS = 2.5  # keep equal to FLASH_MS in board_column.js
SNIPPET = 90
OPEN_CARD = "open_card"  # the event board_column.js emits on a click
MOVE_CARD = "move_card"  # ... and at the end of a drag
OPS_QUEUE = "__itemhub_ops"  # keep equal to QUEUE in board_column.js


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """What this tab shows."""

    text: str = ""
    owner_id: UUID | None = None
    archived: bool = False

    def shows(self, card: ItemCard) -> bool:
        """Whether a card passes the filter."""
        if card.archived != self.archived:
            return False
        if self.owner_id is not None and card.owner_id != self.owner_id:
            return False
        needle = self.text.strip().casefold()
        return not needle or needle in f"{card.title}\n{card.description}".casefold()


def slug(column: str) -> str:
    """A column name fit for test ids."""
    return "".join(c if c.isalnum() else "-" for c in column.lower())


def initials(name: str) -> str:
    """Up to two initials for an avatar."""
    parts = [p for p in name.replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def age(moment: dt.datetime) -> str:
    """A short, human age."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int((dt.datetime.now(dt.UTC) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def snippet(description: str) -> str:
    """The start of a description, on one line."""
    text = " ".join(description.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


@dataclass(frozen=True, slots=True)
class CardJson:
    """What the browser gets for one card (orjson writes it as an object)."""

    item: str
    version: int
    rank: float
    title: str
    owner: str
    initials: str
    created: str
    snippet: str


@dataclass(frozen=True, slots=True)
class CardFace:
    """One state of an item as the board shows it, computed once for all tabs."""

    card: ItemCard
    with_owner: CardJson  # what superusers see
    without_owner: CardJson  # what its owner sees (a standard user)

    def json(self, *, show_owner: bool) -> CardJson:
        """The card as this viewer sees it."""
        return self.with_owner if show_owner else self.without_owner


def _face(card: ItemCard, item: str) -> CardFace:
    created = card.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    full = CardJson(
        item=item,
        version=card.version,
        rank=card.rank,
        title=card.title,
        owner=card.owner_name,
        initials=initials(card.owner_name),
        created=created.isoformat(timespec="milliseconds"),
        snippet=snippet(card.description),
    )
    plain = dataclasses.replace(full, owner="", initials="")
    return CardFace(card=card, with_owner=full, without_owner=plain)


class CardFaces:
    """One shared ``CardFace`` per item state: N tabs hold references, not copies.

    Each tab loads its board from the read model as fresh objects; without this
    every tab would keep its own copy of every title, description and derived
    string.
    """

    def __init__(self) -> None:
        self._faces: dict[UUID, CardFace] = {}

    def face(self, card: ItemCard) -> CardFace:
        """The shared face of exactly this state of the item."""
        known = self._faces.get(card.id)
        if known is not None and known.card == card:
            return known
        face = _face(card, known.with_owner.item if known else str(card.id))
        if known is None or card.version >= known.card.version:
            self._faces[card.id] = face
        return face

    def forget(self, item_id: UUID) -> None:
        """The item is gone."""
        self._faces.pop(item_id, None)


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
        + "window.__itemhub_drain&&window.__itemhub_drain()"
    )
    # What Element.run_method sends, without a background task per call: this
    # runs for every open tab on every change.
    client.outbox.enqueue_message("run_javascript", {"code": code}, client.id)


class ColumnView:
    """A board column and its quick-add field."""

    def __init__(
        self,
        name: str,
        *,
        on_add: Callable[[ColumnView], Awaitable[None]],
        on_move: Callable[[GenericEventArguments], Awaitable[None]],
        on_open: Callable[[GenericEventArguments], Awaitable[None]],
        sortable: bool,
        show_owner: bool,
    ) -> None:
        self.name = name
        with BoardColumn(name, sortable=sortable, show_owner=show_owner) as column:
            self.column = column
            self.quick_add = (
                ui.input(placeholder="Add an item…")
                .props(f'dense clearable data-testid="add-{slug(name)}"')
                .classes("w-full")
                .mark(f"add-{name}")
            )
            self.quick_add.on("keydown.enter", lambda: on_add(self))
            self.quick_add.set_visibility(sortable)
        column.on(OPEN_CARD, on_open)
        column.on(MOVE_CARD, on_move)


class BoardView:
    """The board of one tab; applies deltas card by card (never a full rebuild)."""

    def __init__(
        self,
        hub: Hub,
        user: UserCredentials,
        board_filter: BoardFilter,
        *,
        faces: CardFaces,
        on_open: Callable[[ItemCard], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.user = user
        self.filter = board_filter
        self.faces = faces
        self.on_open = on_open
        self.shown: dict[UUID, str] = {}  # item -> the column showing it
        self.columns: dict[str, ColumnView] = {}
        with ui.row().classes("w-full gap-3 no-wrap overflow-x-auto items-start pb-4"):
            for name in hub.settings.board_columns:
                self.columns[name] = ColumnView(
                    name,
                    on_add=self.quick_add,
                    on_move=self.on_drop,
                    on_open=self._open,
                    sortable=not board_filter.archived,
                    show_owner=user.is_superuser,
                )

    def card(self, item_id: UUID) -> ItemCard | None:
        """The state of an item this tab shows."""
        name = self.shown.get(item_id)
        if name is None:
            return None
        return self.columns[name].column.faces[str(item_id)].card

    async def _open(self, e: GenericEventArguments) -> None:
        try:
            item_id = UUID(str(e.args))
        except ValueError:
            return  # not one of our cards
        card = self.card(item_id)
        if card is not None:
            await self.on_open(card)

    # --- loading and live updates ---------------------------------------------

    def fill(self, board: dict[str, list[ItemCard]]) -> None:
        """Show the loaded cards (deltas that raced the load may be here already)."""
        touched: set[BoardColumn] = set()
        for cards in board.values():
            for card in cards:
                if not self._visible(card):
                    continue
                name = self.shown.get(card.id)
                if name is not None:
                    column = self.columns[name].column
                    if column.faces[str(card.id)].card.version >= card.version:
                        continue  # a delta that raced the load is newer
                    column.take(str(card.id))
                    touched.add(column)
                column = self.columns[card.column].column
                column.place(self.faces.face(card), None)
                self.shown[card.id] = card.column
                touched.add(column)
        for column in touched:
            column.update()

    def apply(self, deltas: Sequence[Delta]) -> None:
        """Apply deltas; ignore any older than what this tab shows."""
        ops: dict[BoardColumn, list[dict[str, Any]]] = {}
        for delta in deltas:
            if isinstance(delta, ItemRemoved):
                name = self.shown.pop(delta.item_id, None)
                if name is not None:
                    column = self.columns[name].column
                    ops.setdefault(column, []).append(column.take(str(delta.item_id)))
            elif isinstance(delta, ItemChanged):
                self._changed(delta.item, ops)
        send_operations(ops)

    def _visible(self, card: ItemCard) -> bool:
        if card.column not in self.columns or not self.filter.shows(card):
            return False
        return self.user.is_superuser or card.owner_id == self.user.id

    def _changed(
        self, card: ItemCard, ops: dict[BoardColumn, list[dict[str, Any]]]
    ) -> None:
        name = self.shown.get(card.id)
        item = str(card.id)
        if name is not None:
            known = self.columns[name].column.faces[item].card
            if card.version <= known.version:
                return
            if not self._visible(card) or card.column != name:
                column = self.columns[name].column
                ops.setdefault(column, []).append(column.take(item))
                del self.shown[card.id]
        if not self._visible(card):
            return
        foreign = card.changed_by_id != self.user.id
        column = self.columns[card.column].column
        face = self.faces.face(card)
        ops.setdefault(column, []).append(
            column.place(face, card.changed_by_name if foreign else None)
        )
        self.shown[card.id] = card.column

    # --- commands from this tab -----------------------------------------------

    async def quick_add(self, column: ColumnView) -> None:
        """Create an item from a column's quick-add field."""
        title = (column.quick_add.value or "").strip()
        if not title:
            ui.notify("Type a title first", type="warning")
            return
        if not await still_logged_in(self.hub, self.user):
            return
        try:
            await in_thread(
                self.hub.bus.handle,
                CreateItem(title=title, column=column.name),
                ui_context(self.user),
            )
        except DomainError as exc:
            ui.notify(f"Not added: {exc}", type="negative")
            return
        column.quick_add.set_value("")

    async def on_drop(self, e: GenericEventArguments) -> None:
        """A drag ended: send it as a move, or snap the card back if refused."""
        args = e.args if isinstance(e.args, dict) else {}
        try:
            item_id = UUID(str(args.get("item")))
            # The version the browser showed when the card was dropped: pushes
            # already applied here may not have reached it yet.
            version = int(args["version"])
            index = int(args["index"])
        except (KeyError, TypeError, ValueError):
            return  # not what board_column.js sends
        source = self.columns.get(str(args.get("from")))
        target = self.columns.get(str(args.get("to")))
        if source is None or target is None or index < 0:
            return

        def snap_back() -> None:
            # The browser moved the card already: show it the server's lists of
            # the columns involved, wherever this tab now has the card.
            involved = {source, target}
            if (now := self.shown.get(item_id)) is not None:
                involved.add(self.columns[now])
            send_operations({c.column: [c.column.reset()] for c in involved})

        if item_id not in self.shown:
            snap_back()
            ui.notify("Not moved: the item is no longer on your board", type="warning")
            return
        if not await still_logged_in(self.hub, self.user):
            snap_back()
            return
        position = await self._global_position(target, item_id, index)
        try:
            await in_thread(
                self.hub.bus.handle,
                MoveItem(
                    item_id=item_id,
                    column=target.name,
                    position=position,
                    expected_version=version,
                ),
                ui_context(self.user),
            )
        except Conflict as exc:
            snap_back()
            ui.notify(
                f"{exc.changed_by} moved or changed it first; it is back in place",
                type="warning",
            )
        except DomainError as exc:
            snap_back()
            ui.notify(f"Not moved: {exc}", type="negative")

    async def _global_position(
        self, target: ColumnView, item_id: UUID, here: int
    ) -> int:
        """The index in the whole column, whatever this tab's filter hides."""
        shown = [f.card.id for f in target.column.cards() if f.card.id != item_id]
        everyone = await in_thread(self.hub.read.column_ids, target.name)
        order = [i for i in everyone if i != item_id]
        if 0 < here <= len(shown) and shown[here - 1] in order:
            return order.index(shown[here - 1]) + 1
        if here < len(shown) and shown[here] in order:
            return order.index(shown[here])
        return 0 if here == 0 else len(order)
