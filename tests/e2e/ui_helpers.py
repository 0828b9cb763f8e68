"""Helpers for tests in NiceGUI's user simulation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import itsdangerous
import pytest
from fastapi import FastAPI
from nicegui import app as nicegui_app
from nicegui import context
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from nicegui.testing.user_navigate import UserNavigate

from itemhub.runtime import Hub
from itemhub.ui.components.board_column import MOVE_CARD, OPEN_CARD, BoardColumn
from itemhub.ui.components.cards import CardFace

RETRIES = 50  # should_see polls every 0.1 s; logins hash with Argon2


def running_hub() -> Hub:
    """The hub of the app NiceGUI's harness built from ``app.py``."""
    hub: Hub = nicegui_app.state.hub
    return hub


def running_app() -> FastAPI:
    """The whole web app (API and pages) the harness built."""
    web: FastAPI = nicegui_app.state.web
    return web


def route_navigation(monkeypatch: pytest.MonkeyPatch, *users: User) -> None:
    """Deliver ``ui.navigate`` to the simulated user whose page navigates.

    NiceGUI's ``User`` rebinds the global ``ui.navigate`` to itself on every
    attribute access, and the outbox hook of every simulated page touches its
    user, so with several users a login's redirect can reach another one (a
    flaky test: about 1 in 10 runs of two logins).
    """
    original: Callable[..., Any] = UserNavigate.to

    def to(self: UserNavigate, target: Any, new_tab: bool = False) -> None:
        here = context.client
        owner = next((u for u in users if u.client is here), self.user)
        original(owner.navigate, target, new_tab)

    monkeypatch.setattr(UserNavigate, "to", to)


def cookie_session_id(cookie: str, storage_secret: str) -> str:
    """The NiceGUI session id inside a (signed) session cookie's value."""
    payload = itsdangerous.TimestampSigner(storage_secret).unsign(cookie.encode())
    session_id: str = json.loads(base64.b64decode(payload))["id"]
    return session_id


async def login(user: User, email: str, password: str) -> None:
    await user.open("/login")
    user.find(marker="email").type(email)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="current-user", retries=RETRIES)


def columns(user: User) -> list[BoardColumn]:
    """The column elements of the user's board."""
    assert user.client is not None
    return [e for e in user.client.elements.values() if isinstance(e, BoardColumn)]


def column_of(user: User, item_id: UUID) -> BoardColumn:
    """The column element that shows an item."""
    (column,) = [c for c in columns(user) if c.holds(str(item_id))]
    return column


def card(user: User, item_id: UUID) -> CardFace:
    """What the user's board shows of an item."""
    return column_of(user, item_id).faces[str(item_id)]


def column_cards(user: User, column: str) -> list[CardFace]:
    """The cards of a column, in display order."""
    element = next(iter(user.find(marker=f"col-{column}").elements))
    assert isinstance(element, BoardColumn)
    return element.cards()


def click_card(user: User, item_id: UUID) -> None:
    """Click a card: board_column.js emits OPEN_CARD from its column."""
    column = column_of(user, item_id)
    UserInteraction(user, {column}, None).trigger(OPEN_CARD, str(item_id))


def drag(
    user: User, item_id: UUID, column: str, index: int, *, version: int | None = None
) -> None:
    """Drop a card at ``index`` of a column, as board_column.js reports a drag.

    ``version`` is the one the browser showed (default: what the page holds);
    the neighbours are the cards the page shows around ``index``.
    """
    source = column_of(user, item_id)
    shown = source.faces[str(item_id)].card.version
    others = [c.card.id for c in column_cards(user, column) if c.card.id != item_id]
    UserInteraction(user, {source}, None).trigger(
        MOVE_CARD,
        {
            "item": str(item_id),
            "version": shown if version is None else version,
            "from": source.name,
            "to": column,
            "index": index,
            "before": str(others[index - 1]) if 0 < index <= len(others) else None,
            "after": str(others[index]) if index < len(others) else None,
        },
    )
