"""Open tabs of a demoted superuser stop showing and doing what they no longer may."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from nicegui import Client, app, storage, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlalchemy import select, update

from itemhub.commands import CreateItem, RegisterUser, RevokeSuperuser
from itemhub.runtime import Hub, checked_session
from itemhub.ui import session
from itemhub.ui.components.board_column import BoardColumn
from itemhub.ui.session import SESSION_KEY
from tests.conftest import admin_context
from tests.e2e.ui_helpers import RETRIES, login, running_hub

BOB = ("bob@example.com", "bob-password")
# The bound: 2 s after the demotion returned, polled every 0.1 s.
WITHIN_2S = 20
ENDED = "Your session has ended"


@pytest.fixture
def app_on(app_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The whole app on SQLite or on PostgreSQL; request it before ``user``."""
    monkeypatch.setenv("ITEMHUB_DATABASE_URL", database_url)
    return app_env


async def _handle(hub: Hub, command: Any) -> Any:
    return await asyncio.to_thread(hub.bus.handle, command, admin_context(hub))


async def _superuser_bob(user: User, path: str) -> tuple[Hub, UUID, Client]:
    """Bob, a superuser, logged in with ``path`` open; returns his tab's client."""
    hub = running_hub()
    bob = await _handle(
        hub,
        RegisterUser(email=BOB[0], password=BOB[1], full_name="Bob", is_superuser=True),
    )
    await login(user, *BOB)
    await user.open(path)
    await user.should_see(marker="current-user", retries=RETRIES)
    assert user.client is not None
    return hub, bob.aggregate_id, user.client


async def _demoted_tab_ends(user: User, hub: Hub, bob: UUID) -> None:
    """Demote Bob (as the admin); his open tab goes to the login page in time."""
    await _handle(hub, RevokeSuperuser(user_id=bob))
    await user.should_see("Log in to ItemHub", retries=WITHIN_2S)
    assert user.notify.contains(ENDED)


def _shows(client: Client, found: Callable[[ui.element], bool]) -> bool:
    return any(found(e) for e in list(client.elements.values()))


def _text(element: ui.element) -> str:
    return str(getattr(element, "text", ""))


async def test_a_demoted_superusers_board_stops_showing_others_cards(
    app_on: Path, user: User
) -> None:
    del app_on
    hub = running_hub()
    await _handle(hub, CreateItem(title="admin's before", column="Todo"))
    hub, bob, board = await _superuser_bob(user, "/")
    await user.should_see("admin's before", retries=RETRIES)
    await _demoted_tab_ends(user, hub, bob)
    after = await _handle(hub, CreateItem(title="admin's after", column="Todo"))
    hub.wait_for(after.position)
    assert not _shows(
        board,
        lambda e: isinstance(e, BoardColumn) and e.holds(str(after.aggregate_id)),
    )


async def test_a_demoted_superusers_audit_tab_stops_showing_events(
    app_on: Path, user: User
) -> None:
    del app_on
    hub, bob, audit = await _superuser_bob(user, "/audit")
    await user.should_see(marker="audit-rows", retries=RETRIES)
    await _demoted_tab_ends(user, hub, bob)
    after = await _handle(hub, CreateItem(title="admin's secret", column="Todo"))
    hub.wait_for(after.position)
    assert not _shows(audit, lambda e: "admin's secret" in _text(e))


async def test_a_demoted_superusers_users_tab_stops_showing_user_changes(
    app_on: Path, user: User
) -> None:
    del app_on
    hub, bob, users = await _superuser_bob(user, "/users")
    await user.should_see(marker=f"user-{BOB[0]}", retries=RETRIES)
    await _demoted_tab_ends(user, hub, bob)
    zed = await _handle(
        hub, RegisterUser(email="zed@example.com", password="zed-password-1")
    )
    hub.wait_for(zed.position)
    assert not _shows(users, lambda e: "zed@example.com" in _text(e))


async def test_a_demoted_superusers_status_tab_stops_counting_cards(
    app_on: Path, user: User
) -> None:
    del app_on
    hub, bob, status = await _superuser_bob(user, "/status")
    await user.should_see(marker="count-Todo", retries=RETRIES)
    await _demoted_tab_ends(user, hub, bob)
    after = await _handle(hub, CreateItem(title="admin's card", column="Todo"))
    hub.wait_for(after.position)
    counts = [e for e in status.elements.values() if "count-Todo" in e._markers]
    assert all(_text(e) == "0" for e in counts)


def _rebuilds(hub: Hub) -> int:
    """How often the items read model was swapped for a rebuilt one."""
    tracking = hub.store.tables.tracking
    with hub.store.reader.connect() as conn:
        epoch = conn.execute(
            select(tracking.c.epoch).where(tracking.c.name == "items")
        ).scalar()
    return int(epoch or 0)


async def test_rebuild_on_a_demoted_superusers_replay_tab_does_not_run(
    app_on: Path, user: User
) -> None:
    del app_on
    hub, bob, _ = await _superuser_bob(user, "/replay")
    rebuild = next(iter(user.find(marker="rebuild").elements))
    before = _rebuilds(hub)
    await _demoted_tab_ends(user, hub, bob)
    # A click that still reaches the old page (a socket message in flight).
    UserInteraction(user, {rebuild}, None).click()
    # A rebuild of a few events takes well under a second; none may come.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and _rebuilds(hub) == before:
        await asyncio.sleep(0.1)
    assert _rebuilds(hub) == before


async def test_a_board_follows_a_role_change_that_leaves_the_session_valid(
    app_on: Path, user: User
) -> None:
    del app_on
    hub = running_hub()
    await _handle(hub, CreateItem(title="admin's card", column="Todo"))
    hub, bob, _ = await _superuser_bob(user, "/")
    await user.should_see("admin's card", retries=RETRIES)
    # No command demotes without ending the session; the table can.
    users = hub.store.tables.users
    with hub.store.writer.begin() as conn:
        conn.execute(update(users).where(users.c.id == bob).values(is_superuser=False))
    # The next user change moves the stamp: the open board checks again.
    await _handle(hub, RegisterUser(email="zed@example.com", password="zed-password-1"))
    await user.should_not_see("admin's card", retries=WITHIN_2S)
    await user.should_see(marker="current-user")
    assert user.notify.contains("Your role has changed")


async def test_a_tab_whose_browser_logs_out_while_its_session_is_checked_ends(
    app_on: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_on
    hub, _, board = await _superuser_bob(user, "/")
    storage.request_contextvar.set(board.request)
    browser = app.storage.user
    looked_up = checked_session

    async def logged_out_meanwhile(*args: Any) -> Any:
        found = await looked_up(*args)
        browser.pop(SESSION_KEY, None)  # another tab of this browser logged out
        return found

    monkeypatch.setattr(session, "checked_session", logged_out_meanwhile)
    # A user change sends the tab's next update through a session check.
    await _handle(hub, RegisterUser(email="zed@example.com", password="zed-pw-123"))
    await user.should_see("Log in to ItemHub", retries=WITHIN_2S)
    after = await _handle(hub, CreateItem(title="admin's after", column="Todo"))
    hub.wait_for(after.position)
    assert not _shows(
        board,
        lambda e: isinstance(e, BoardColumn) and e.holds(str(after.aggregate_id)),
    )
