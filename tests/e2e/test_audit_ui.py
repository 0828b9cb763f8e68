"""Audit, history, time travel and replay pages in NiceGUI's user simulation."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

from nicegui.testing import User

from itemhub.commands import Context, CreateItem, EditItem, MoveItem, RegisterUser
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.ui_helpers import RETRIES, login, running_hub


async def _handle(hub: Hub, command: Any, ctx: Context) -> Any:
    return await asyncio.to_thread(hub.bus.handle, command, ctx)


async def test_standard_users_cannot_open_audit_or_replay(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await _handle(
        hub,
        RegisterUser(email="alice@example.com", password="alice-password"),
        admin_context(hub),
    )
    await login(user, "alice@example.com", "alice-password")
    for path in ("/audit", "/replay", "/status", "/users"):
        response = await user.http_client.get(path)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html"), path
        # A small page a person can read, not NiceGUI's app shell.
        assert "<h1>403 — Forbidden</h1>" in response.text, path
        assert "Only superusers may" in response.text, path
        assert '<a href="/">Back to the board</a>' in response.text, path
        assert "nicegui" not in response.text.lower(), path
    response = await user.http_client.get("/audit/export")
    assert response.status_code == 403
    # Still signed in: the refusal did not end the session.
    await user.open("/")
    await user.should_see(marker="current-user")


async def test_the_audit_trail_filters_by_url_and_shows_new_events_live(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    first = await _handle(hub, CreateItem(title="first card", column="Todo"), admin)
    await _handle(
        hub, MoveItem(item_id=first.aggregate_id, column="Done", position=0), admin
    )
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/audit?action=item.moved")
    await user.should_see("moved to Done at position 0", retries=RETRIES)
    await user.should_not_see('created "first card"')
    await user.should_see(marker="chain-badge")
    await _handle(
        hub, MoveItem(item_id=first.aggregate_id, column="Doing", position=0), admin
    )
    await user.should_see("moved to Doing at position 0", retries=RETRIES)
    await user.open("/audit?colour=red")
    await user.should_see(marker="bad-filter")
    export = await user.http_client.get("/audit/export?action=item.moved&format=json")
    assert export.status_code == 200
    assert [e["summary"] for e in export.json()] == [
        "moved to Done at position 0",
        "moved to Doing at position 0",
    ]


async def test_the_csv_download_neutralises_formula_titles(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    formulas = ('=HYPERLINK("http://evil.example","open")', "+1", "-1", "@SUM(1)")
    for formula in formulas:
        created = await _handle(
            hub, CreateItem(title=formula, column="Todo"), admin_context(hub)
        )
    await asyncio.to_thread(hub.wait_for, created.position)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    export = await user.http_client.get("/audit/export?action=item.created")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["target_label"] for row in rows] == [f"'{f}" for f in formulas]


async def test_history_restores_a_version_with_a_compensating_event(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    item = await _handle(hub, CreateItem(title="original", column="Todo"), admin)
    await _handle(hub, EditItem(item_id=item.aggregate_id, title="changed"), admin)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open(f"/items/{item.aggregate_id}/history")
    await user.should_see("changed — 2 versions", retries=RETRIES)
    await user.should_see("title: 'original' → 'changed'")
    await user.open(f"/items/{item.aggregate_id}/history?version=1")
    await user.should_see("As of version 1 (read-only)", retries=RETRIES)
    for shown in ("title: 'original'", "column: 'Todo'", "deleted: False"):
        await user.should_see(shown)
    user.find(marker="restore-1").click()
    await user.should_see("Restored version 1", retries=RETRIES)
    card = hub.read.item(item.aggregate_id)
    assert card is not None and (card.title, card.version) == ("original", 3)
    events = [type(e).__name__ for e in hub.app.events.get(item.aggregate_id)]
    assert events == ["Created", "Edited", "Reverted"]


async def test_time_travel_shows_the_past_board_read_only(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    item = await _handle(hub, CreateItem(title="traveller", column="Todo"), admin)
    await _handle(
        hub, MoveItem(item_id=item.aggregate_id, column="Done", position=0), admin
    )
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open(f"/timetravel?position={item.position}")
    await user.should_see(f"as of position {item.position}", retries=RETRIES)
    await user.should_see("Todo (1)")
    await user.should_see("Done (0)")
    await user.open("/timetravel?position=0")
    await user.should_not_see("traveller")


async def test_replay_steps_through_events_and_rebuilds_a_projection(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    admin = admin_context(hub)
    item = await _handle(hub, CreateItem(title="replayed", column="Todo"), admin)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open(f"/replay?first={item.position}&last={item.position}")
    await user.should_see(f"event 1 of 1 (position {item.position})", retries=RETRIES)
    await user.should_see("itemhub.events.item:Item.Created")
    user.find(marker="rebuild").click()
    await user.should_see(marker="rebuild-status", content="items: ", retries=RETRIES)
    hub.wait_for(hub.head())
    assert hub.read.item(item.aggregate_id) is not None
