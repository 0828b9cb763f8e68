"""The board, login, users and profile pages in NiceGUI's user simulation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from nicegui import core, json, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from itemhub.commands import (
    ChangeProfile,
    Context,
    CreateItem,
    DeactivateUser,
    MoveItem,
    RegisterUser,
    RevokeSuperuser,
)
from itemhub.runtime import Hub
from itemhub.ui.components.board_column import BOARD_EVENT
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.ui_helpers import (
    RETRIES,
    click_card,
    column_cards,
    drag,
    login,
    route_navigation,
    running_app,
    running_hub,
)

ALICE = ("alice@example.com", "alice-password")
ENDED = "Your session has ended; please log in again"


async def _register(email: str, password: str, *, superuser: bool = False) -> UUID:
    hub = running_hub()
    result = await asyncio.to_thread(
        hub.bus.handle,
        RegisterUser(
            email=email,
            password=password,
            full_name=email.split("@")[0].title(),
            is_superuser=superuser,
        ),
        admin_context(hub),
    )
    return result.aggregate_id


def titles(user: User, column: str) -> list[str]:
    return [c.card.title for c in column_cards(user, column)]


def _sent_operations(user: User, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the board messages Socket.IO sends the user's page from now on."""
    assert user.client is not None
    client_id = user.client.id
    sent: list[str] = []
    original = core.sio.emit

    async def record(event: str, data: Any = None, **kwargs: Any) -> None:
        rooms = kwargs.get("room")
        if event == BOARD_EVENT and client_id in (
            rooms if isinstance(rooms, list) else [rooms]
        ):
            sent.append(json.dumps(data))
        await original(event, data, **kwargs)

    monkeypatch.setattr(core.sio, "emit", record)
    return sent


async def _eventually(check: Callable[[], bool], retries: int = RETRIES) -> None:
    for _ in range(retries):
        # A page still being built has no elements to find yet: not there yet.
        with contextlib.suppress(AssertionError):
            if check():
                return
        await asyncio.sleep(0.1)  # lets the loop deliver pushed updates
    raise AssertionError("condition not reached")


async def _handle(hub: Hub, command: Any, ctx: Context) -> Any:
    return await asyncio.to_thread(hub.bus.handle, command, ctx)


async def test_an_anonymous_visit_redirects_to_login(app_env: Path, user: User) -> None:
    del app_env
    for path in ("/", "/users", "/profile", "/status"):
        await user.open(path)
        await user.should_see("Log in to ItemHub")


async def test_a_wrong_password_is_refused_with_a_notification(
    app_env: Path, user: User
) -> None:
    del app_env
    await user.open("/login")
    user.find(marker="email").type(ADMIN_EMAIL)
    user.find(marker="password").type("wrong-password")
    user.find(marker="login").click()
    await user.should_see("Incorrect e-mail or password", retries=RETRIES)
    await user.should_not_see(marker="current-user")


async def test_two_users_see_each_others_changes_live(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    alice, admin = create_user(), create_user()
    route_navigation(monkeypatch, alice, admin)
    await _register(*ALICE)
    await login(alice, *ALICE)
    await login(admin, ADMIN_EMAIL, ADMIN_PASSWORD)

    alice.find(marker="add-Todo").type("Write the spec").trigger("keydown.enter")
    await admin.should_see("Write the spec", retries=RETRIES)
    hub = running_hub()
    (card,) = hub.read.board()["Todo"]
    assert card.title == "Write the spec"

    # Alice edits through the dialog; the admin's tab updates that one card.
    click_card(alice, card.id)
    await alice.should_see("Item (version 1)", retries=RETRIES)
    title_input = next(
        e for e in alice.find(ui.input).elements if getattr(e, "label", "") == "Title"
    )
    title_input.set_value("Write the spec v2")
    alice.find(marker="save-item").click()
    await admin.should_see("Write the spec v2", retries=RETRIES)
    await admin.should_see(f"changed by {ALICE[0].split('@')[0].title()}")

    # Alice drags it to Done; the admin's board moves the card.
    drag(alice, card.id, "Done", 0)
    await _eventually(lambda: titles(admin, "Done") == ["Write the spec v2"])
    assert titles(admin, "Todo") == []
    assert hub.read.item(card.id) is not None
    moved = hub.read.item(card.id)
    assert moved is not None and moved.column == "Done"


async def test_a_rest_change_appears_in_an_open_page(app_env: Path, user: User) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    api = running_app()
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        token = (
            await client.post(
                "/api/v1/login/access-token",
                data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
        ).json()["access_token"]
        response = await client.post(
            "/api/v1/items",
            json={"title": "From a script", "column": "Doing"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201
    await user.should_see("From a script", retries=RETRIES)
    assert titles(user, "Doing") == ["From a script"]


async def test_standard_users_see_only_their_own_items(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await _handle(
        hub, CreateItem(title="Admin's secret", column="Todo"), admin_context(hub)
    )
    await _register(*ALICE)
    await login(user, *ALICE)
    user.find(marker="add-Todo").type("Alice's own").trigger("keydown.enter")
    await user.should_see("Alice's own", retries=RETRIES)
    await user.should_not_see("Admin's secret")
    assert (await user.http_client.get("/users")).status_code == 403


async def test_an_open_tab_of_a_deactivated_user_can_no_longer_act(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    alice_id = await _register(*ALICE)
    await login(user, *ALICE)
    add = next(iter(user.find(marker="add-Todo").elements))
    await _handle(hub, DeactivateUser(user_id=alice_id), admin_context(hub))
    head = hub.head()
    # The open board ends itself at once...
    await user.should_see("Log in to ItemHub", retries=RETRIES)
    assert user.notify.messages.count(ENDED) == 1
    # ...and an entry still on its way to it adds nothing.
    UserInteraction(user, {add}, None).type("too late").trigger("keydown.enter")
    await _eventually(lambda: user.notify.messages.count(ENDED) == 2)
    assert hub.head() == head


async def test_a_demoted_superuser_cannot_act_on_others_items(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    bob = await _register("bob@example.com", "bob-password", superuser=True)
    item = await _handle(
        hub, CreateItem(title="admin's card", column="Todo"), admin_context(hub)
    )
    await login(user, "bob@example.com", "bob-password")
    await user.should_see("admin's card", retries=RETRIES)
    click_card(user, item.aggregate_id)
    await user.should_see("Item (version 1)", retries=RETRIES)
    archive = next(iter(user.find(kind=ui.button, content="Archive").elements))
    await _handle(hub, RevokeSuperuser(user_id=bob), admin_context(hub))
    head = hub.head()
    # The open board ends itself at once...
    await user.should_see("Log in to ItemHub", retries=RETRIES)
    assert user.notify.messages.count(ENDED) == 1
    # ...and a click still on its way to the dialog changes nothing.
    UserInteraction(user, {archive}, None).click()
    await _eventually(lambda: user.notify.messages.count(ENDED) == 2)
    assert hub.head() == head


async def test_presence_shows_everyone_viewing_the_board(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    alice, admin = create_user(), create_user()
    route_navigation(monkeypatch, alice, admin)
    await _register(*ALICE)
    await login(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    await login(alice, *ALICE)
    for viewer in (alice, admin):
        await viewer.should_see(marker="viewer-Administrator", retries=RETRIES)
        await viewer.should_see(marker="viewer-Alice", retries=RETRIES)


async def test_a_revoked_board_stops_showing_who_is_viewing(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    alice, admin = create_user(), create_user()
    route_navigation(monkeypatch, alice, admin)
    hub = running_hub()
    alice_id = await _register(*ALICE)
    await login(alice, *ALICE)
    assert alice.client is not None
    board = alice.client
    await _handle(hub, DeactivateUser(user_id=alice_id), admin_context(hub))
    await alice.should_see("Log in to ItemHub", retries=RETRIES)
    await login(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    await admin.should_see(marker="viewer-Administrator", retries=RETRIES)
    assert not any(
        "viewer-Administrator" in e._markers for e in list(board.elements.values())
    )


async def test_a_stale_move_snaps_back_and_says_who_moved_first(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    item = await _handle(hub, CreateItem(title="contested", column="Todo"), admin)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.should_see("contested", retries=RETRIES)
    bob = await _register("bob@example.com", "bob-password", superuser=True)
    # Hold back the push so this tab still shows version 1, as if Bob's move
    # were still in flight when this drag started.
    loop = asyncio.get_running_loop()
    hub.feed.bind(None)
    try:
        await _handle(
            hub,
            MoveItem(item_id=item.aggregate_id, column="Doing", position=0),
            Context(actor_id=bob, channel=admin.channel),
        )
    finally:
        hub.feed.bind(loop)
    head = hub.head()
    sent = _sent_operations(user, monkeypatch)
    drag(user, item.aggregate_id, "Done", 0)
    await user.should_see("Bob moved or changed it first", retries=RETRIES)
    assert titles(user, "Todo") == ["contested"]
    assert titles(user, "Done") == []
    assert hub.head() == head
    # The browser had moved the card already: it gets the server's whole
    # board, so it snaps back there too.
    assert any('"sync":true' in code and '"op":"reset"' in code for code in sent)


async def test_a_drag_within_a_column_reorders_it_for_everyone(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    ids = [
        (await _handle(hub, CreateItem(title=t, column="Todo"), admin)).aggregate_id
        for t in ("one", "two", "three")
    ]
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await _eventually(lambda: titles(user, "Todo") == ["one", "two", "three"])
    drag(user, ids[2], "Todo", 1)  # "three" dropped between "one" and "two"
    await _eventually(lambda: titles(user, "Todo") == ["one", "three", "two"])
    assert hub.read.column_ids("Todo") == [ids[0], ids[2], ids[1]]
    drag(user, ids[0], "Todo", 2)  # "one" dropped at the bottom
    await _eventually(lambda: titles(user, "Todo") == ["three", "two", "one"])
    assert hub.read.column_ids("Todo") == [ids[2], ids[1], ids[0]]


async def test_open_boards_follow_a_renumbered_column_and_a_renamed_owner(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    alice = await _register(*ALICE)
    ctx = Context(actor_id=alice, channel=admin.channel)
    await _handle(hub, CreateItem(title="top", column="Todo"), ctx)
    await _handle(hub, CreateItem(title="bottom", column="Todo"), ctx)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await _eventually(lambda: titles(user, "Todo") == ["top", "bottom"])

    def read_model_order() -> list[str]:
        return [c.title for c in hub.read.board()["Todo"]]

    # Each card goes right below "top": the gap halves every time until the
    # projection renumbers the column (every rank changes, no version does).
    for n in range(40):
        await _handle(
            hub, CreateItem(title=f"wedge {n}", column="Todo", position=1), ctx
        )
    expected = read_model_order()
    assert expected[:2] == ["top", "wedge 39"]
    await _eventually(lambda: titles(user, "Todo") == expected)
    # One more wedge lands among renumbered neighbours: still in place.
    await _handle(hub, CreateItem(title="last", column="Todo", position=1), ctx)
    await _eventually(lambda: titles(user, "Todo") == read_model_order())

    user_now = hub.read.user(alice)
    assert user_now is not None
    await _handle(
        hub,
        ChangeProfile(
            user_id=alice, full_name="Alice Renamed", expected_version=user_now.version
        ),
        ctx,
    )
    await user.should_see("Alice Renamed", retries=RETRIES)
    owners = {c.card.owner_name for c in column_cards(user, "Todo")}
    assert owners == {"Alice Renamed"}


async def test_cards_are_data_and_changes_go_out_as_card_operations(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    first = await _handle(hub, CreateItem(title="first", column="Todo"), admin)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.should_see("first", retries=RETRIES)
    assert user.client is not None
    before = len(user.client.elements)
    sent = _sent_operations(user, monkeypatch)
    for n in range(5):
        await _handle(hub, CreateItem(title=f"more {n}", column="Doing"), admin)
    await _eventually(lambda: len(column_cards(user, "Doing")) == 5)
    # No element per card: the column element shows them.
    assert len(user.client.elements) == before
    assert sum(code.count('"op":"put"') for code in sent) == 5
    sent.clear()
    await _handle(
        hub,
        MoveItem(item_id=first.aggregate_id, column="Doing", position=0),
        admin,
    )
    await _eventually(lambda: titles(user, "Doing")[0] == "first")
    assert titles(user, "Todo") == []
    # One message: the card leaves Todo and is put into Doing.
    (code,) = sent
    assert code.count('"op":"drop"') == 1
    assert code.count('"op":"put"') == 1
    assert f'"item":"{first.aggregate_id}"' in code
    assert len(user.client.elements) == before


async def test_another_tab_of_someone_already_here_leaves_presence_alone(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    first, second, alice = create_user(), create_user(), create_user()
    route_navigation(monkeypatch, first, second, alice)
    await _register(*ALICE)
    await login(first, ADMIN_EMAIL, ADMIN_PASSWORD)
    await first.should_see(marker="viewer-Administrator", retries=RETRIES)
    avatar = next(iter(first.find(marker="viewer-Administrator").elements))
    await login(second, ADMIN_EMAIL, ADMIN_PASSWORD)
    await second.should_see(marker="viewer-Administrator", retries=RETRIES)
    # The admin's second tab changes nobody's list: the first tab's row stays.
    assert next(iter(first.find(marker="viewer-Administrator").elements)) is avatar
    await login(alice, *ALICE)
    for viewer in (first, second, alice):
        await viewer.should_see(marker="viewer-Alice", retries=RETRIES)
        await viewer.should_see(marker="viewer-Administrator")
