"""Helpers for tests in NiceGUI's user simulation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from nicegui import context
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from nicegui.testing.user_navigate import UserNavigate

from itemhub.ui.components.board import OPEN_CARD, CardView

RETRIES = 50  # should_see polls every 0.1 s; logins hash with Argon2


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


async def login(user: User, email: str, password: str) -> None:
    await user.open("/login")
    user.find(marker="email").type(email)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="current-user", retries=RETRIES)


def card(user: User, item_id: UUID) -> CardView:
    """The card element of an item on the user's board."""
    element = next(iter(user.find(marker=f"card-{item_id}").elements))
    assert isinstance(element, CardView)
    return element


def column_cards(user: User, column: str) -> list[CardView]:
    """The cards of a column, in display order."""
    container = next(iter(user.find(marker=f"col-{column}").elements))
    return [c for c in container.default_slot.children if isinstance(c, CardView)]


def click_card(user: User, item_id: UUID) -> None:
    """Click a card: card.js dispatches OPEN_CARD, which bubbles to its column."""
    slot = card(user, item_id).parent_slot
    assert slot is not None
    UserInteraction(user, {slot.parent}, None).trigger(OPEN_CARD, str(item_id))
