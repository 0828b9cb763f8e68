"""The live board of one browser tab: a column element per board column."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nicegui import ui
from nicegui.events import GenericEventArguments

from itemhub.commands import (
    CreateItem,
    MoveItem,
    StoreUnavailable,
    can_see,
)
from itemhub.projections import (
    Delta,
    ItemCard,
    ItemChanged,
    ItemRemoved,
    UserCredentials,
)
from itemhub.runtime import Hub
from itemhub.ui.actions import send
from itemhub.ui.components.board_column import (
    MOVE_CARD,
    OPEN_CARD,
    BoardColumn,
    send_operations,
)
from itemhub.ui.components.cards import CardFaces, slug
from itemhub.ui.session import in_thread

REMOVED = sys.maxsize  # the "version" of a deleted item


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
        # Until the board has loaded: the newest version of each item that a
        # delta brought (REMOVED: deleted), so the load cannot bring back an
        # older state, visible or not. None once loaded.
        self._seen: dict[UUID, int] | None = {}
        self._sent_while_loading = False
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
        seen = self._seen or {}
        ops: dict[BoardColumn, list[dict[str, Any]]] = {}
        for cards in board.values():
            for card in cards:
                # Unless a delta during the load had this or a newer state.
                if seen.get(card.id, 0) < card.version:
                    self._changed(card, ops, flash=False)
        self._seen = None
        if self._sent_while_loading:
            # After the operations already on their way, in the same channel:
            # a full update of the elements would be sent before them.
            send_operations({c: [c.reset()] for c in ops})
        else:
            for column in ops:
                column.update()

    def apply(self, deltas: Sequence[Delta]) -> None:
        """Apply deltas; ignore any older than what this tab shows."""
        ops: dict[BoardColumn, list[dict[str, Any]]] = {}
        for delta in deltas:
            if isinstance(delta, ItemRemoved):
                if self._seen is not None:
                    self._seen[delta.item_id] = REMOVED
                name = self.shown.pop(delta.item_id, None)
                if name is not None:
                    column = self.columns[name].column
                    ops.setdefault(column, []).append(column.take(str(delta.item_id)))
            elif isinstance(delta, ItemChanged):
                card = delta.item
                if self._seen is not None:
                    self._seen[card.id] = max(self._seen.get(card.id, 0), card.version)
                self._changed(card, ops)
        if ops and self._seen is not None:
            self._sent_while_loading = True
        send_operations(ops)

    def _visible(self, card: ItemCard) -> bool:
        if card.column not in self.columns or not self.filter.shows(card):
            return False
        return can_see(self.user, card.owner_id)

    def _changed(
        self,
        card: ItemCard,
        ops: dict[BoardColumn, list[dict[str, Any]]],
        *,
        flash: bool = True,
    ) -> None:
        name = self.shown.get(card.id)
        item = str(card.id)
        restated = False
        if name is not None:
            known = self.columns[name].column.faces[item].card
            if card.version < known.version:
                return
            if card.version == known.version:
                # The projection restates an item whose rank (a renumbered
                # column) or owner name changed without an event of its own.
                if _shown_alike(card, known):
                    return
                restated = True
            if not self._visible(card) or card.column != name:
                column = self.columns[name].column
                ops.setdefault(column, []).append(column.take(item))
                del self.shown[card.id]
        if not self._visible(card):
            return
        foreign = flash and not restated and card.changed_by_id != self.user.id
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
        added = await send(
            self.hub,
            self.user,
            CreateItem(title=title, column=column.name),
            refused="Not added: {}",
        )
        if added is not None:
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
        try:
            position = await self._global_position(
                target,
                item_id,
                index,
                _neighbour(args, "before"),
                _neighbour(args, "after"),
            )
            moved = await send(
                self.hub,
                self.user,
                MoveItem(
                    item_id=item_id,
                    column=target.name,
                    position=position,
                    expected_version=version,
                ),
                refused="Not moved: {}",
                conflict=lambda exc: (
                    f"{exc.changed_by} moved or changed it first; it is back in place"
                ),
            )
        except StoreUnavailable:  # reading where the card landed
            moved = None
            ui.notify(
                "Not moved: the database is unavailable, try again", type="negative"
            )
        except BaseException:
            snap_back()  # the board stays true; NiceGUI reports the error
            raise
        if moved is None:
            snap_back()

    async def _global_position(
        self,
        target: ColumnView,
        item_id: UUID,
        index: int,
        before: UUID | None,
        after: UUID | None,
    ) -> int:
        """Where the dropped card goes in the whole column, by its neighbours there.

        The browser names the cards it was dropped between: this tab's filter
        may hide others, and pushes may have changed the column meanwhile.
        """
        column = await in_thread(self.hub.queries.read.column_ids, target.name)
        order = [i for i in column if i != item_id]
        if before in order:
            return order.index(before) + 1
        if after in order:
            return order.index(after)
        return 0 if index == 0 else len(order)  # both gone meanwhile


def _shown_alike(card: ItemCard, known: ItemCard) -> bool:
    """Whether two states of an item show and sort the same on a board."""
    return (card.column, card.rank, card.owner_name) == (
        known.column,
        known.rank,
        known.owner_name,
    )


def _neighbour(args: dict[str, Any], key: str) -> UUID | None:
    try:
        return UUID(str(args[key]))
    except (KeyError, ValueError):
        return None
