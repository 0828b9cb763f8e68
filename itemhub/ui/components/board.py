"""The live board of one browser tab: columns of cards, updated card by card."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nicegui import ui
from nicegui.events import GenericEventArguments, SortableEventArguments

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

FLASH_SECONDS = 2.5  # keep equal to FLASH_MS in card.js
SNIPPET = 90
OPEN_CARD = "open_card"  # the DOM event card.js dispatches on a click


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
class CardFace:
    """What a card shows for one state of an item, computed once for all tabs."""

    card: ItemCard
    snippet: str
    created: str
    initials: str
    item: str  # the id as text, also the card's test id and marker below
    test_id: str


class CardFaces:
    """One shared ``CardFace`` per item state: N tabs hold references, not copies.

    Each tab loads its board from the read model as fresh objects; without this
    every tab would keep its own copy of every title, description and derived
    string (about 1 KiB per card per tab).
    """

    def __init__(self) -> None:
        self._faces: dict[UUID, CardFace] = {}

    def face(self, card: ItemCard) -> CardFace:
        """The shared face of exactly this state of the item."""
        known = self._faces.get(card.id)
        if known is not None and known.card == card:
            return known
        created = card.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        face = CardFace(
            card=card,
            snippet=snippet(card.description),
            created=created.isoformat(timespec="milliseconds"),
            initials=initials(card.owner_name),
            item=known.item if known is not None else str(card.id),
            test_id=known.test_id if known is not None else f"card-{card.id}",
        )
        if known is None or card.version >= known.card.version:
            self._faces[card.id] = face
        return face

    def forget(self, item_id: UUID) -> None:
        """The item is gone."""
        self._faces.pop(item_id, None)


class CardView(ui.element, component="card.js"):
    """One item on the board: a single element whose fields are props."""

    def __init__(self, face: CardFace, *, show_owner: bool) -> None:
        super().__init__()
        self.face = face
        self._show_owner = show_owner
        self._flash_until = 0.0
        self._props.update(
            {
                "data-testid": face.test_id,
                "item": face.item,
                "changed_by": "",
                "flash": 0,
            }
        )
        self.mark(face.test_id)
        self._set(face)

    @property
    def card(self) -> ItemCard:
        """The state of the item this card shows."""
        return self.face.card

    def show(self, face: CardFace, *, flashed_by: str | None = None) -> None:
        """Display a (newer) state of the item; flash it if someone else changed it."""
        self.face = face
        self._set(face, flashed_by)

    def _set(self, face: CardFace, flashed_by: str | None = None) -> None:
        card = face.card
        values: dict[str, Any] = {
            "title": card.title,
            "owner": card.owner_name if self._show_owner else "",
            "initials": face.initials if self._show_owner else "",
            "created": face.created,
            "snippet": face.snippet,
        }
        if flashed_by is not None:
            # The browser ends the flash itself (card.js), so a change costs
            # one update per tab, not a second one to switch the highlight off.
            self._flash_until = time.monotonic() + FLASH_SECONDS
            values["changed_by"] = flashed_by
            values["flash"] = card.version
        # Straight into the dict, then one update: this runs for every open
        # tab on every change, and the observable dict's change machinery
        # (copying, observing, handler dispatch) cost as much as the rest of
        # the card's work. Nothing binds to a card's props.
        dict.update(self._props, values)
        self.update()

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What card.js renders as text, for ElementFilter and user.should_see.
        flashing = time.monotonic() < self._flash_until
        return [
            self._props["title"],
            self._props["owner"],
            age(self.card.created_at),
            self._props["snippet"],
            f"changed by {self._props['changed_by']}" if flashing else None,
        ]


class ColumnView:
    """A column: header with count, quick-add, and a sortable list of cards."""

    def __init__(
        self,
        name: str,
        *,
        on_add: Callable[[ColumnView], Awaitable[None]],
        on_end: Callable[[SortableEventArguments], Awaitable[None]],
        on_open: Callable[[GenericEventArguments], Awaitable[None]],
        sortable: bool,
    ) -> None:
        self.name = name
        with (
            ui.card()
            .classes("w-72 shrink-0 p-2 gap-2 bg-grey-2 dark:bg-grey-9")
            .props(f'data-testid="column-{slug(name)}"')
        ):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(name).classes("text-subtitle1 font-medium")
                self.badge = ui.badge("0").props(f'data-testid="count-{slug(name)}"')
                self.badge.mark(f"count-{name}")
            self.quick_add = (
                ui.input(placeholder="Add an item…")
                .props(f'dense clearable data-testid="add-{slug(name)}"')
                .classes("w-full")
                .mark(f"add-{name}")
            )
            self.quick_add.on("keydown.enter", lambda: on_add(self))
            self.quick_add.set_visibility(sortable)
            self.container = (
                ui.column()
                .classes("w-full min-h-16 gap-2")
                .props(f'data-testid="col-{slug(name)}"')
                .mark(f"col-{name}")
            )
            # One listener per column, not one per card: card.js dispatches a
            # bubbling "open_card" with the item id (a listener is ~0.6 KiB).
            self.container.on(
                OPEN_CARD, on_open, js_handler="(event) => emit(event.detail)"
            )
            if sortable:
                self.container.make_sortable(group="board", on_end=on_end)

    def cards(self) -> list[CardView]:
        """The cards in display order."""
        return [
            c for c in self.container.default_slot.children if isinstance(c, CardView)
        ]

    def recount(self) -> None:
        """Refresh the card count."""
        # The container holds cards only; this runs for every open tab on
        # every change, so no list is built to count them.
        self.badge.set_text(str(len(self.container.default_slot.children)))


class BoardView:
    """The board of one tab; applies deltas card by card (never a full rebuild)."""

    def __init__(
        self,
        hub: Hub,
        user: UserCredentials,
        board_filter: BoardFilter,
        *,
        faces: CardFaces,
        on_open: Callable[[CardView], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.user = user
        self.filter = board_filter
        self.faces = faces
        self.on_open = on_open
        self.cards: dict[UUID, CardView] = {}
        self.columns: dict[str, ColumnView] = {}
        with ui.row().classes("w-full gap-3 no-wrap overflow-x-auto items-start pb-4"):
            for name in hub.settings.board_columns:
                self.columns[name] = ColumnView(
                    name,
                    on_add=self.quick_add,
                    on_end=self.on_drop,
                    on_open=self._open,
                    sortable=not board_filter.archived,
                )

    async def _open(self, e: GenericEventArguments) -> None:
        try:
            item_id = UUID(str(e.args))
        except ValueError:
            return  # not one of our cards
        view = self.cards.get(item_id)
        if view is not None:
            await self.on_open(view)

    # --- loading and live updates ---------------------------------------------

    def fill(self, board: dict[str, list[ItemCard]]) -> None:
        """Show the loaded cards (deltas that raced the load may be here already)."""
        for cards in board.values():
            for card in cards:
                self._changed(card, flash=False)
        for column in self.columns.values():
            column.recount()

    def apply(self, deltas: Sequence[Delta]) -> None:
        """Apply deltas; ignore any older than what this tab shows."""
        touched: set[str] = set()
        for delta in deltas:
            if isinstance(delta, ItemRemoved):
                view = self.cards.pop(delta.item_id, None)
                if view is not None:
                    touched.add(view.card.column)
                    view.delete()
            elif isinstance(delta, ItemChanged):
                touched |= self._changed(delta.item)
        for name in touched:
            if name in self.columns:
                self.columns[name].recount()

    def _changed(self, card: ItemCard, *, flash: bool = True) -> set[str]:
        view = self.cards.get(card.id)
        visible = card.column in self.columns and self.filter.shows(card)
        if self.user.is_superuser is False and card.owner_id != self.user.id:
            visible = False
        if view is not None and card.version <= view.card.version:
            return set()
        foreign = flash and card.changed_by_id != self.user.id
        flashed_by = card.changed_by_name if foreign else None
        if view is None:
            if not visible:
                return set()
            self._insert(card, flashed_by)
            return {card.column}
        old = view.card
        if not visible:
            del self.cards[card.id]
            view.delete()
            return {old.column}
        view.show(self.faces.face(card), flashed_by=flashed_by)
        if (old.column, old.rank) != (card.column, card.rank) or old.archived:
            self._move(view, self.columns[card.column])
        return {old.column, card.column}

    @staticmethod
    def _place(view: CardView, column: ColumnView, index: int) -> None:
        """Put a card at ``index`` in a column: ``Element.move`` without its checks."""
        # Runs for every open tab on every move. A card holds no elements, so
        # Element.move's walk of the target's ancestors can never fail here.
        source = view.parent_slot
        target = column.container.default_slot
        if source is not None:
            source.children.remove(view)
            if source is not target:
                source.parent.update()
        view.parent_slot = target
        target.children.insert(index, view)
        column.container.update()

    def _move(self, view: CardView, column: ColumnView) -> None:
        self._place(view, column, self._index(view.card, view))

    def _index(self, card: ItemCard, view: CardView | None = None) -> int:
        """Where the card goes among the other cards of its column, by rank."""
        # Runs for every open tab on every change: ranks are compared first,
        # plain attributes, no UUID comparison per card.
        rank = card.rank
        children = self.columns[card.column].container.default_slot.children
        before = 0
        for c in children:
            if c is not view and c.face.card.rank < rank:  # type: ignore[attr-defined]
                before += 1
        return before

    def _insert(self, card: ItemCard, flashed_by: str | None = None) -> None:
        column = self.columns[card.column]
        index = self._index(card)
        with column.container:
            view = CardView(self.faces.face(card), show_owner=self.user.is_superuser)
        if flashed_by is not None:
            view.show(view.face, flashed_by=flashed_by)
        if index < len(column.container.default_slot.children) - 1:
            self._place(view, column, index)
        self.cards[card.id] = view

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

    async def on_drop(self, e: SortableEventArguments) -> None:
        """A drag ended: send it as a move, or snap the card back if refused."""
        view = e.item
        if not isinstance(view, CardView):
            return
        # Read before any await: the version this tab showed when it was dropped.
        expected = view.card.version
        source = self._column_of(e.source)
        target = self._column_of(e.target)
        if source is None or target is None:
            return

        def snap_back() -> None:
            view.move(target_container=source.container, target_index=e.old_index)
            source.recount()
            target.recount()

        if not await still_logged_in(self.hub, self.user):
            snap_back()
            return
        position = await self._global_position(target, view)
        try:
            await in_thread(
                self.hub.bus.handle,
                MoveItem(
                    item_id=view.card.id,
                    column=target.name,
                    position=position,
                    expected_version=expected,
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
        else:
            source.recount()
            target.recount()

    async def _global_position(self, target: ColumnView, view: CardView) -> int:
        """The index in the whole column, whatever this tab's filter hides."""
        shown = target.cards()
        here = shown.index(view)
        everyone = await in_thread(self.hub.read.column_ids, target.name)
        order = [i for i in everyone if i != view.card.id]
        if here > 0 and shown[here - 1].card.id in order:
            return order.index(shown[here - 1].card.id) + 1
        if here + 1 < len(shown) and shown[here + 1].card.id in order:
            return order.index(shown[here + 1].card.id)
        return 0 if here == 0 else len(order)

    def _column_of(self, container: object) -> ColumnView | None:
        return next(
            (c for c in self.columns.values() if c.container is container), None
        )
