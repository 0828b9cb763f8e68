"""The live board's fan-out: each change applied once per shared board and sent
to all of its tabs as one Socket.IO message, encoded once.

Tabs that show the same board to the same audience with the same filter share
one ``SharedBoard``. An audience is a permission class (``can_see``): all
superusers, or one standard user. A tab receives a message only while its
``SessionGuard`` holds, checked for every message; a tab whose user or session
changed is frozen, checked again, and brought up to date if it still holds.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from nicegui import Client, background_tasks, core

from itemhub.commands import can_see
from itemhub.facades import Queries
from itemhub.projections import Delta, ItemCard, ItemChanged, ItemRemoved
from itemhub.ui.components.board_column import (
    BOARD_EVENT,
    FLASH_SECONDS,
    BoardColumn,
    ColumnCards,
    Flash,
)
from itemhub.ui.components.cards import CardFaces
from itemhub.ui.session import SessionGuard, in_thread

REMOVED = sys.maxsize  # the "version" of a deleted item
RECENT_MESSAGES = 64

Ops = dict[str, list[dict[str, Any]]]  # operations by column name


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """What a tab shows."""

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


@dataclass(frozen=True, slots=True)
class Audience:
    """A permission class, a ``Viewer`` for ``can_see``: all superusers (the nil
    id) or one standard user."""

    id: UUID
    is_superuser: bool

    @classmethod
    def of(cls, user_id: UUID, *, is_superuser: bool) -> Audience:
        """The audience a user belongs to."""
        return cls(UUID(int=0), True) if is_superuser else cls(user_id, False)


@dataclass(frozen=True, slots=True)
class BoardKey:
    """Which tabs share a board."""

    audience: Audience
    filter: BoardFilter


@dataclass(eq=False)
class BoardTab:
    """One open tab of a shared board."""

    client: Client
    guard: SessionGuard
    columns: list[BoardColumn] = field(default_factory=list)
    checking: bool = False  # its session is being checked again: sent nothing
    seq: int = 0  # the last change sent to it


class SharedBoard:
    """What one audience sees through one filter, kept by the change feed."""

    def __init__(self, key: BoardKey, columns: Sequence[str], faces: CardFaces):
        self.key = key
        self.faces = faces
        show_owner = key.audience.is_superuser
        self.columns = {n: ColumnCards(n, show_owner=show_owner) for n in columns}
        self.shown: dict[UUID, str] = {}  # item -> the column showing it
        self.seq = 0  # changes applied since it was created; 0: not loaded yet
        self.tabs: dict[str, BoardTab] = {}  # by client id
        # Until loaded: the newest version of each item that a delta brought
        # (REMOVED: deleted), so the load cannot bring back an older state.
        self._seen: dict[UUID, int] | None = {}
        self.loading: asyncio.Task[None] | None = None
        # The last messages sent: a tab that missed a few (its session was
        # being checked again) gets them, not the whole board.
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_MESSAGES)

    def card(self, item_id: UUID) -> ItemCard | None:
        """The state of an item this board shows."""
        name = self.shown.get(item_id)
        return None if name is None else self.columns[name].faces[str(item_id)].card

    def fill(self, board: dict[str, list[ItemCard]]) -> None:
        """Take the loaded cards (deltas that raced the load may be here already)."""
        seen = self._seen or {}
        ops: Ops = {}
        for cards in board.values():
            for card in cards:
                if seen.get(card.id, 0) < card.version:
                    self._changed(card, ops, flash=False)
        self._seen = None
        self.seq += 1

    def apply(self, deltas: Sequence[Delta]) -> Ops:
        """Apply deltas (ignoring any older than what it shows); the operations."""
        ops: Ops = {}
        for delta in deltas:
            if isinstance(delta, ItemRemoved):
                if self._seen is not None:
                    self._seen[delta.item_id] = REMOVED
                name = self.shown.pop(delta.item_id, None)
                if name is not None:
                    column = self.columns[name]
                    ops.setdefault(name, []).append(column.take(str(delta.item_id)))
            elif isinstance(delta, ItemChanged):
                card = delta.item
                if self._seen is not None:
                    self._seen[card.id] = max(self._seen.get(card.id, 0), card.version)
                self._changed(card, ops)
        if ops and self._seen is None:
            self.seq += 1
        return ops

    def since(self, seq: int) -> list[dict[str, Any]] | None:
        """The messages after ``seq``, or None if not all are kept."""
        missed = [m for m in self.recent if m["seq"] > seq]
        if len(missed) != self.seq - seq:
            return None
        return missed

    def state(self) -> dict[str, Any]:
        """The message that makes a browser show exactly this board."""
        return {
            "seq": self.seq,
            "sync": True,
            "columns": {n: [c.reset()] for n, c in self.columns.items()},
        }

    def _visible(self, card: ItemCard) -> bool:
        return (
            card.column in self.columns
            and can_see(self.key.audience, card.owner_id)
            and self.key.filter.shows(card)
        )

    def _changed(self, card: ItemCard, ops: Ops, *, flash: bool = True) -> None:
        name = self.shown.get(card.id)
        item = str(card.id)
        restated = False
        if name is not None:
            known = self.columns[name].faces[item].card
            if card.version < known.version:
                return
            if card.version == known.version:
                # The projection restates an item whose rank (a renumbered
                # column) or owner name changed without an event of its own.
                if _shown_alike(card, known):
                    return
                restated = True
            if not self._visible(card) or card.column != name:
                ops.setdefault(name, []).append(self.columns[name].take(item))
                del self.shown[card.id]
        if not self._visible(card):
            return
        by = None
        if flash and not restated and card.changed_by_id is not None:
            by = Flash(
                card.changed_by_name,
                str(card.changed_by_id),
                time.monotonic() + FLASH_SECONDS,
            )
        face = self.faces.face(card)
        ops.setdefault(card.column, []).append(
            self.columns[card.column].place(face, by)
        )
        self.shown[card.id] = card.column


def _shown_alike(card: ItemCard, known: ItemCard) -> bool:
    """Whether two states of an item show and sort the same on a board."""
    return (card.column, card.rank, card.owner_name) == (
        known.column,
        known.rank,
        known.owner_name,
    )


class BoardBroadcast:
    """Every shared board of this process, fed by the change feed."""

    def __init__(self, queries: Queries, columns: Sequence[str], faces: CardFaces):
        self.queries = queries
        self.column_names = tuple(columns)
        self.faces = faces
        self.boards: dict[BoardKey, SharedBoard] = {}

    def board(self, key: BoardKey) -> SharedBoard:
        """The shared board for ``key``, created (not loaded yet) if none is open."""
        board = self.boards.get(key)
        if board is None:
            board = self.boards[key] = SharedBoard(key, self.column_names, self.faces)
        return board

    async def loaded(self, board: SharedBoard) -> None:
        """Wait until the board has its cards (loading them once for all its tabs)."""
        if board.loading is None:
            board.loading = asyncio.create_task(self._load(board))
        try:
            await asyncio.shield(board.loading)
        except Exception:
            if board.loading.done() and self.boards.get(board.key) is board:
                del self.boards[board.key]  # the next tab loads it afresh
            raise

    async def _load(self, board: SharedBoard) -> None:
        audience, shown = board.key.audience, board.key.filter
        cards = await in_thread(
            self.queries.read.board,
            shown.owner_id if audience.is_superuser else audience.id,
            archived=shown.archived,
            text=shown.text.strip() or None,  # as BoardFilter.shows
        )
        board.fill(cards)

    def join(self, board: SharedBoard, tab: BoardTab) -> None:
        """From now on the tab gets the board's changes, until its client goes.

        Joined before the board has loaded, so a first tab keeps it open.
        """
        board.tabs[tab.client.id] = tab
        tab.client.on_delete(lambda: self._leave(board, tab))
        # A reconnected socket may have missed messages meanwhile.
        tab.client.on_connect(lambda: self.sync(board, tab))
        tab.seq = board.seq

    def sync(self, board: SharedBoard, tab: BoardTab, known: int | None = None) -> None:
        """Send the tab the whole board, unless it has the board's ``known`` seq."""
        if not board.seq or tab.checking or tab.guard.ended:
            return  # not loaded yet, or the tab gets it once checked again
        if not tab.guard.unchanged():
            self._check_later(board, tab)  # it gets the board once it holds
            return
        self._send_board(board, tab, known)

    def _send_board(self, board: SharedBoard, tab: BoardTab, known: int | None) -> None:
        if known == board.seq:
            _send({"seq": board.seq, "sync": True, "columns": {}}, [tab.client.id])
        else:
            _send(board.state(), [tab.client.id])
        tab.seq = board.seq

    def catch_up(self, board: SharedBoard, tab: BoardTab) -> None:
        """Send a tab whose check has just held what it missed: the messages if
        kept, else the board."""
        missed = board.since(tab.seq) if tab.seq else None
        if missed is None:
            self._send_board(board, tab, None)
            return
        for message in missed:
            _send(message, [tab.client.id])
        tab.seq = board.seq

    def on_deltas(self, deltas: Sequence[Delta]) -> None:
        """Apply a batch to every shared board and send each its operations."""
        for board in list(self.boards.values()):
            ops = board.apply(deltas)
            # Every batch checks the tabs, not only one with card changes: a
            # user change (a deactivation, say) ends the tabs it concerns.
            recipients = self._recipients(board)
            if ops and board.seq:
                message = {"seq": board.seq, "columns": ops}
                board.recent.append(message)
                if recipients:
                    _send(message, [tab.client.id for tab in recipients])
                for tab in recipients:
                    tab.seq = board.seq

    def _recipients(self, board: SharedBoard) -> list[BoardTab]:
        recipients = []
        for tab in list(board.tabs.values()):
            if tab.guard.ended:
                self._leave(board, tab)
            elif tab.checking:
                continue
            elif tab.guard.unchanged():
                recipients.append(tab)
            else:
                self._check_later(board, tab)
        return recipients

    def _check_later(self, board: SharedBoard, tab: BoardTab) -> None:
        """A user or the session changed since the tab's last check: freeze it
        and check again; meanwhile it is sent nothing."""
        tab.checking = True
        for column in tab.columns:
            column.freeze()
        background_tasks.create(self._check_again(board, tab))

    async def _check_again(self, board: SharedBoard, tab: BoardTab) -> None:
        try:
            with tab.client:
                holds = await tab.guard.check(acting=False)
        finally:
            tab.checking = False
        if not holds:
            self._leave(board, tab)
            return
        for column in tab.columns:
            column.follow(board.columns[column.name], board.seq)
        self.catch_up(board, tab)

    def _leave(self, board: SharedBoard, tab: BoardTab) -> None:
        if board.tabs.get(tab.client.id) is tab:
            del board.tabs[tab.client.id]
        for column in tab.columns:
            column.freeze()
        if not board.tabs and self.boards.get(board.key) is board:
            del self.boards[board.key]


def _send(message: dict[str, Any], client_ids: list[str]) -> None:
    """One Socket.IO emit: encoded once, written to each tab's socket."""
    background_tasks.create(
        core.sio.emit(BOARD_EVENT, message, room=client_ids), name="board-broadcast"
    )
