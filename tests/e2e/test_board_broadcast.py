"""The live board's broadcast: one message per audience, only what it may see."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from nicegui import core, json
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from itemhub.commands import DeactivateUser, ReassignItem, RegisterUser
from itemhub.ui.components.board_column import BOARD_EVENT, SYNC
from itemhub.ui.session import SessionGuard
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.ui_helpers import (
    RETRIES,
    columns,
    login,
    route_navigation,
    running_app,
    running_hub,
)

ALICE = ("alice@example.com", "alice-password")
BOB = ("bob@example.com", "bob-password")
WAIT = 10.0  # seconds; a safety net only


@dataclass(frozen=True)
class Sent:
    """One Socket.IO emit of a board message."""

    text: str  # the message as JSON
    rooms: tuple[str, ...]  # the client ids it went to

    def mentions(self, item_id: UUID) -> bool:
        """Whether the message carries anything of this item."""
        return str(item_id) in self.text


def _record_broadcasts(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    sent: list[Sent] = []
    original = core.sio.emit

    async def record(event: str, data: Any = None, **kwargs: Any) -> None:
        if event == BOARD_EVENT:
            rooms = kwargs.get("room")
            listed = rooms if isinstance(rooms, list) else [rooms]
            sent.append(Sent(json.dumps(data), tuple(str(r) for r in listed)))
        await original(event, data, **kwargs)

    monkeypatch.setattr(core.sio, "emit", record)
    return sent


async def _register(email: str, password: str) -> UUID:
    hub = running_hub()
    result = await asyncio.to_thread(
        hub.bus.handle,
        RegisterUser(email=email, password=password, full_name=email.split("@")[0]),
        admin_context(hub),
    )
    return result.aggregate_id


async def _create_through_rest(email: str, password: str, title: str) -> UUID:
    transport = httpx.ASGITransport(app=running_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        login_response = await api.post(
            "/api/v1/login/access-token",
            data={"username": email, "password": password},
        )
        token = login_response.json()["access_token"]
        response = await api.post(
            "/api/v1/items",
            json={"title": title, "column": "Doing"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def _client_id(user: User) -> str:
    assert user.client is not None
    return user.client.id


async def test_each_tab_gets_only_the_cards_its_user_may_see(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    alice, alice_again, bob, admin = (create_user() for _ in range(4))
    route_navigation(monkeypatch, alice, alice_again, bob, admin)
    hub = running_hub()
    await _register(*ALICE)
    bob_id = await _register(*BOB)
    for user, (email, password) in (
        (alice, ALICE),
        (alice_again, ALICE),
        (bob, BOB),
        (admin, (ADMIN_EMAIL, ADMIN_PASSWORD)),
    ):
        await login(user, email, password)
    sent = _record_broadcasts(monkeypatch)

    # A change from the UI, and two from REST clients.
    alice.find(marker="add-Todo").type("alice's card").trigger("keydown.enter")
    await admin.should_see("alice's card", retries=RETRIES)
    alices = hub.read.board()["Todo"][0].id
    admins = await _create_through_rest(ADMIN_EMAIL, ADMIN_PASSWORD, "admin's card")
    bobs = await _create_through_rest(*BOB, "bob's card")
    await admin.should_see("bob's card", retries=RETRIES)
    # Alice's card goes to Bob: it leaves her board and appears on his.
    await asyncio.to_thread(
        hub.bus.handle,
        ReassignItem(item_id=alices, owner_id=bob_id, expected_version=1),
        admin_context(hub),
    )
    await bob.should_see("alice's card", retries=RETRIES)
    await alice.should_not_see("alice's card", retries=RETRIES)

    to_alice = [s for s in sent if _client_id(alice) in s.rooms]
    to_bob = [s for s in sent if _client_id(bob) in s.rooms]
    to_admin = [s for s in sent if _client_id(admin) in s.rooms]
    # Nothing of another user's card ever reached a standard user's tab...
    assert not [s for s in to_alice if s.mentions(admins) or s.mentions(bobs)]
    assert not [s for s in to_bob if s.mentions(admins)]
    # ... after the reassignment Alice was told only to drop her old card ...
    (last_to_alice,) = [s for s in to_alice if '"op":"drop"' in s.text]
    assert last_to_alice.mentions(alices) and '"op":"put"' not in last_to_alice.text
    # ... and the superuser saw all of it.
    assert all(any(s.mentions(i) for s in to_admin) for i in (alices, admins, bobs))
    # One message per audience: Alice's two tabs got the same emits, which
    # no other user's tab shared.
    for message in to_alice:
        assert set(message.rooms) == {_client_id(alice), _client_id(alice_again)}
    assert len(to_alice) == 2  # her card put, then dropped


async def test_a_tab_checked_again_gets_the_changes_it_missed_not_the_board(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    await _register(*ALICE)
    await login(user, *ALICE)
    gate = asyncio.Event()
    checking = asyncio.Event()
    check = SessionGuard.check

    async def held_check(guard: SessionGuard, *, acting: bool = True) -> bool:
        if not acting:
            checking.set()
            await gate.wait()  # still checking while the change below goes out
        return await check(guard, acting=acting)

    monkeypatch.setattr(SessionGuard, "check", held_check)
    sent = _record_broadcasts(monkeypatch)
    # A user change: the tab's next update waits for a check of its session.
    await _register("zed@example.com", "zed-password")
    await asyncio.wait_for(checking.wait(), WAIT)
    missed = await _create_through_rest(*ALICE, "made while checking")
    assert not [s for s in sent if s.mentions(missed)]  # held back meanwhile
    gate.set()
    await user.should_see("made while checking", retries=RETRIES)
    to_tab = [s for s in sent if _client_id(user) in s.rooms]
    assert any(s.mentions(missed) and '"op":"put"' in s.text for s in to_tab)
    assert not [s for s in to_tab if '"sync":true' in s.text]


async def test_a_tab_of_a_deactivated_user_that_asks_for_the_board_gets_nothing(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    hub = running_hub()
    alice = await _register(*ALICE)
    await login(user, *ALICE)
    await _create_through_rest(*ALICE, "alice's card")
    await user.should_see("alice's card", retries=RETRIES)
    tab = _client_id(user)
    sent = _record_broadcasts(monkeypatch)
    # The deactivation's push has not reached this process's pages yet when
    # the browser asks for the whole board (it mounted, or reconnected).
    loop = asyncio.get_running_loop()
    hub.feed.bind(None)
    try:
        await asyncio.to_thread(
            hub.bus.handle, DeactivateUser(user_id=alice), admin_context(hub)
        )
        UserInteraction(user, {columns(user)[0]}, None).trigger(SYNC, {"seq": 0})
        await user.should_see("Log in to ItemHub", retries=RETRIES)
    finally:
        hub.feed.bind(loop)
    assert not [s for s in sent if tab in s.rooms]
