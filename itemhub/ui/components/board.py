"""The live board of one browser tab: a column element per board column."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from nicegui import ui
from nicegui.events import GenericEventArguments

from itemhub.commands import (
    CreateItem,
    MoveItem,
    StoreUnavailable,
)
from itemhub.projections import ItemCard, UserCredentials
from itemhub.runtime import Hub
from itemhub.ui.actions import send
from itemhub.ui.broadcast import BoardBroadcast, BoardTab, SharedBoard
from itemhub.ui.components.board_column import (
    MOVE_CARD,
    OPEN_CARD,
    SYNC,
    BoardColumn,
    ColumnCards,
)
from itemhub.ui.components.cards import slug
from itemhub.ui.session import in_thread


class ColumnView:
    """A board column and its quick-add field."""

    def __init__(
        self,
        cards: ColumnCards,
        *,
        viewer: str,
        seq: int,
        on_add: Callable[[ColumnView], Awaitable[None]],
        on_move: Callable[[GenericEventArguments], Awaitable[None]],
        on_open: Callable[[GenericEventArguments], Awaitable[None]],
        on_sync: Callable[[GenericEventArguments], None],
        sortable: bool,
    ) -> None:
        self.name = cards.name
        with BoardColumn(cards, viewer=viewer, seq=seq, sortable=sortable) as column:
            self.column = column
            self.quick_add = (
                ui.input(placeholder="Add an item…")
                .props(f'dense clearable data-testid="add-{slug(cards.name)}"')
                .classes("w-full")
                .mark(f"add-{cards.name}")
            )
            self.quick_add.on("keydown.enter", lambda: on_add(self))
            self.quick_add.set_visibility(sortable)
        column.on(OPEN_CARD, on_open)
        column.on(MOVE_CARD, on_move)
        column.on(SYNC, on_sync)


class BoardView:
    """The board of one tab: its columns show a shared board's cards."""

    def __init__(
        self,
        hub: Hub,
        user: UserCredentials,
        board: SharedBoard,
        tab: BoardTab,
        broadcast: BoardBroadcast,
        *,
        on_open: Callable[[ItemCard], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.user = user
        self.board = board
        self.tab = tab
        self.broadcast = broadcast
        self.on_open = on_open
        self.columns: dict[str, ColumnView] = {}
        with ui.row().classes("w-full gap-3 no-wrap overflow-x-auto items-start pb-4"):
            for name, cards in board.columns.items():
                self.columns[name] = ColumnView(
                    cards,
                    viewer=str(user.id),
                    seq=board.seq,
                    on_add=self.quick_add,
                    on_move=self.on_drop,
                    on_open=self._open,
                    on_sync=self._sync,
                    sortable=not board.key.filter.archived,
                )
        tab.columns.extend(c.column for c in self.columns.values())

    def card(self, item_id: UUID) -> ItemCard | None:
        """The state of an item this tab shows."""
        view = self._showing(item_id)
        return None if view is None else view.column.faces[str(item_id)].card

    def _showing(self, item_id: UUID) -> ColumnView | None:
        for view in self.columns.values():
            if view.column.holds(str(item_id)):
                return view
        return None

    async def _open(self, e: GenericEventArguments) -> None:
        try:
            item_id = UUID(str(e.args))
        except ValueError:
            return  # not one of our cards
        card = self.card(item_id)
        if card is not None:
            await self.on_open(card)

    def _sync(self, e: GenericEventArguments) -> None:
        """The browser asks for the board: it has just mounted, or missed a message."""
        known = e.args.get("seq") if isinstance(e.args, dict) else None
        self.broadcast.sync(self.board, self.tab, known if type(known) is int else None)

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
            # The browser moved the card already: show it the server's board.
            self.broadcast.sync(self.board, self.tab)

        if self._showing(item_id) is None:
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


def _neighbour(args: dict[str, Any], key: str) -> UUID | None:
    try:
        return UUID(str(args[key]))
    except (KeyError, ValueError):
        return None
