"""Loading the board races the tab going away."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from nicegui import Client, background_tasks
from nicegui.testing import User

from itemhub.commands import CreateItem, DeleteItem, MoveItem
from itemhub.projections import ItemCard
from itemhub.queries.read_models import ReadModels
from itemhub.ui.components.board_column import BoardColumn
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.ui_helpers import login, running_hub

PAGE_TASK = 'wait for result of page "/"'
BLOCK_LIMIT = 10.0  # seconds; a safety net only, the test releases it at once


@dataclass
class HeldLoad:
    """A board page whose load is held in its thread until ``release``."""

    client: Client
    page_task: asyncio.Task[Any]
    release: threading.Event


async def _open_with_held_load(
    user: User, monkeypatch: pytest.MonkeyPatch, *, read_first: bool
) -> HeldLoad:
    """Open the board; its load waits (having read the board, if ``read_first``)."""
    held, release = threading.Event(), threading.Event()
    original = ReadModels.board

    def held_board(
        self: ReadModels, *args: Any, **kwargs: Any
    ) -> dict[str, list[ItemCard]]:
        board = original(self, *args, **kwargs) if read_first else None
        held.set()
        release.wait(BLOCK_LIMIT)
        return board if board is not None else original(self, *args, **kwargs)

    monkeypatch.setattr(ReadModels, "board", held_board)
    if user.client is not None:
        # Its board would be shared with the new tab, which would not load it.
        user.client.delete()
    earlier = set(background_tasks.running_tasks)
    client = await user.open("/")  # served once connected; the load goes on
    assert await asyncio.to_thread(held.wait, BLOCK_LIMIT)
    (page_task,) = [
        t for t in background_tasks.running_tasks - earlier if t.get_name() == PAGE_TASK
    ]
    return HeldLoad(client, page_task, release)


async def test_a_tab_deleted_while_its_board_loads_ends_quietly(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    hub = running_hub()
    await asyncio.to_thread(
        hub.bus.handle,
        CreateItem(title="loaded late", column="Todo"),
        admin_context(hub),
    )
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    load = await _open_with_held_load(user, monkeypatch, read_first=False)
    client = load.client
    client.delete()  # the tab closed (or missed its reconnect timeout)
    load.release.set()
    # The rest of the page function must neither raise nor build elements
    # for the deleted client (it would serve a 500 page in the log).
    assert await load.page_task is None
    assert not [
        e for e in client.elements.values() if isinstance(e, BoardColumn) and e.cards()
    ]


async def test_changes_during_the_load_are_not_undone_by_it(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)

    def create(title: str) -> UUID:
        result = hub.bus.handle(CreateItem(title=title, column="Todo"), admin)
        return result.aggregate_id

    deleted = await asyncio.to_thread(create, "deleted")
    moved = await asyncio.to_thread(create, "moved")
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    # The load reads the board, then waits while the changes below happen.
    load = await _open_with_held_load(user, monkeypatch, read_first=True)
    await asyncio.to_thread(hub.bus.handle, DeleteItem(item_id=deleted), admin)
    await asyncio.to_thread(
        hub.bus.handle, MoveItem(item_id=moved, column="Doing", position=0), admin
    )
    load.release.set()
    assert await load.page_task is None  # the board has loaded

    def titles(column: str) -> list[str]:
        (element,) = [
            e
            for e in load.client.elements.values()
            if isinstance(e, BoardColumn) and e.name == column
        ]
        return [c.card.title for c in element.cards()]

    # The load's older copies (both in Todo) lose to what the deltas said.
    assert titles("Doing") == ["moved"]
    assert titles("Todo") == []
