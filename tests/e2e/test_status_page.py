"""The status page (superusers) in NiceGUI's user simulation, with the real runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from nicegui.testing import User

from itemhub.commands import CreateItem, RegisterUser
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.ui_helpers import login, running_hub


async def test_status_page_shows_every_column_and_projection(
    app_env: Path, user: User
) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/status")
    for column in ("Backlog", "Todo", "Doing", "Done"):
        await user.should_see(column)
    for projection in ("items", "users", "activity", "chain"):
        await user.should_see(f"{projection}: running")


async def test_status_page_is_forbidden_to_standard_users(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await asyncio.to_thread(
        hub.bus.handle,
        RegisterUser(email="bob@example.com", password="bob-password-1"),
        admin_context(hub),
    )
    await login(user, "bob@example.com", "bob-password-1")
    response = await user.http_client.get("/status")
    assert response.status_code == 403
    assert "Only superusers may see the status page." in response.text
    # Nothing of the page itself: no columns, no projections.
    for secret in ("Backlog", "Todo", "running", "activity"):
        assert secret not in response.text


async def test_status_counts_update_live_when_an_item_is_created(
    app_env: Path, user: User
) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/status")
    await user.should_see(marker="count-Todo", content="0")
    hub = running_hub()
    # Blocking command (it waits for the read models): off the event loop.
    await asyncio.to_thread(
        hub.bus.handle, CreateItem(title="live", column="Todo"), admin_context(hub)
    )
    await user.should_see(marker="count-Todo", content="1", retries=30)


async def test_health_endpoints_answer_from_the_parent_app(
    app_env: Path, user: User
) -> None:
    del app_env, user
    hub = running_hub()
    from fastapi import FastAPI

    from itemhub.api import API_PREFIX, api_router

    api = FastAPI()
    api.state.hub = hub
    api.include_router(api_router(), prefix=API_PREFIX)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        live = await c.get("/api/v1/health")
        ready = await c.get("/api/v1/health/ready")
    assert live.status_code == 200
    assert live.json()["workers"] == {
        "items": "running",
        "users": "running",
        "activity": "running",
        "chain": "running",
    }
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    # Anonymous: states only (positions and lag are for a superuser's token).
    assert {p["name"]: p["state"] for p in body["projections"]} == {
        "items": "running",
        "users": "running",
        "activity": "running",
        "chain": "running",
    }
