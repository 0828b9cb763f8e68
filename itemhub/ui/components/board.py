"""The live board of one browser tab: columns of cards, updated card by card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from nicegui import ui
from nicegui.events import SortableEventArguments

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

FLASH_SECONDS = 2.5
SNIPPET = 90


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


class CardView(ui.card):
    """One item on the board."""

    def __init__(
        self,
        card: ItemCard,
        *,
        show_owner: bool,
        on_open: Callable[[CardView], Awaitable[None]],
    ) -> None:
        super().__init__()
        self.card = card
        self.classes("w-full p-2 gap-1 cursor-grab transition-all")
        self.props(f'data-testid="card-{card.id}"')
        self.mark(f"card-{card.id}")
        with self:
            self.title = ui.label().classes("font-medium break-words")
            with ui.row().classes("items-center gap-2 text-xs no-wrap"):
                with ui.avatar(
                    size="sm", color="primary", text_color="white"
                ) as self.avatar:
                    self.initials = ui.label()
                self.avatar.set_visibility(show_owner)
                self.owner = ui.label().classes("truncate")
                self.owner.set_visibility(show_owner)
                self.age = ui.label().classes("text-grey-7")
            self.snippet = ui.label().classes("text-xs text-grey-7 break-words")
            self.changed_by = ui.label().classes("text-xs text-orange-9")
            self.changed_by.set_visibility(False)
        self.on("click", lambda: on_open(self))
        self.show(card)

    def show(self, card: ItemCard) -> None:
        """Display a (newer) state of the item."""
        self.card = card
        self.title.set_text(card.title)
        self.initials.set_text(initials(card.owner_name))
        self.owner.set_text(card.owner_name)
        self.age.set_text(age(card.created_at))
        text = " ".join(card.description.split())
        self.snippet.set_text(
            text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"
        )
        self.snippet.set_visibility(bool(text))

    def flash(self, who: str) -> None:
        """Highlight a change someone else made, and say who."""
        self.changed_by.set_text(f"changed by {who}")
        self.changed_by.set_visibility(True)
        self.classes(add="ring-2 ring-orange-400")
        ui.timer(FLASH_SECONDS, self._unflash, once=True)

    def _unflash(self) -> None:
        self.classes(remove="ring-2 ring-orange-400")
        self.changed_by.set_visibility(False)


class ColumnView:
    """A column: header with count, quick-add, and a sortable list of cards."""

    def __init__(
        self,
        name: str,
        *,
        on_add: Callable[[ColumnView], Awaitable[None]],
        on_end: Callable[[SortableEventArguments], Awaitable[None]],
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
            if sortable:
                self.container.make_sortable(group="board", on_end=on_end)

    def cards(self) -> list[CardView]:
        """The cards in display order."""
        return [
            c for c in self.container.default_slot.children if isinstance(c, CardView)
        ]

    def recount(self) -> None:
        """Refresh the card count."""
        self.badge.set_text(str(len(self.cards())))


class BoardView:
    """The board of one tab; applies deltas card by card (never a full rebuild)."""

    def __init__(
        self,
        hub: Hub,
        user: UserCredentials,
        board_filter: BoardFilter,
        *,
        on_open: Callable[[CardView], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.user = user
        self.filter = board_filter
        self.on_open = on_open
        self.cards: dict[UUID, CardView] = {}
        self.columns: dict[str, ColumnView] = {}
        with ui.row().classes("w-full gap-3 no-wrap overflow-x-auto items-start pb-4"):
            for name in hub.settings.board_columns:
                self.columns[name] = ColumnView(
                    name,
                    on_add=self.quick_add,
                    on_end=self.on_drop,
                    sortable=not board_filter.archived,
                )

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
        if view is None:
            if not visible:
                return set()
            self._insert(card)
            if flash:
                self._flash_if_foreign(self.cards[card.id])
            return {card.column}
        old = view.card
        if not visible:
            del self.cards[card.id]
            view.delete()
            return {old.column}
        view.show(card)
        if (old.column, old.rank) != (card.column, card.rank) or old.archived:
            target = self.columns[card.column].container
            view.move(target_container=target, target_index=self._index(card))
        if flash:
            self._flash_if_foreign(view)
        return {old.column, card.column}

    def _flash_if_foreign(self, view: CardView) -> None:
        if view.card.changed_by_id != self.user.id:
            view.flash(view.card.changed_by_name)

    def _index(self, card: ItemCard) -> int:
        column = self.columns[card.column]
        return sum(
            1
            for c in column.cards()
            if c.card.id != card.id and c.card.rank < card.rank
        )

    def _insert(self, card: ItemCard) -> None:
        column = self.columns[card.column]
        with column.container:
            view = CardView(
                card, show_owner=self.user.is_superuser, on_open=self.on_open
            )
        view.move(target_container=column.container, target_index=self._index(card))
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
