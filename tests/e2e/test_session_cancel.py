"""A page load NiceGUI cancels must not log the browser out."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from uuid import UUID

import pytest
from nicegui import background_tasks
from nicegui.testing import User

from itemhub.auth import Authenticator
from itemhub.projections import UserCredentials
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.ui_helpers import RETRIES, login

PAGE_TASK = 'wait for result of page "/"'
BLOCK_LIMIT = 10.0  # seconds; a safety net only, the test releases it at once


async def test_a_cancelled_page_load_keeps_the_session(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    entered, release = threading.Event(), threading.Event()
    original = Authenticator.session_user
    blocked_once: list[bool] = []

    def slow_session_user(
        self: Authenticator, user_id: UUID, token_version: int
    ) -> UserCredentials | None:
        if not blocked_once:
            blocked_once.append(True)
            entered.set()
            release.wait(BLOCK_LIMIT)
        return original(self, user_id, token_version)

    monkeypatch.setattr(Authenticator, "session_user", slow_session_user)
    earlier = set(background_tasks.running_tasks)
    load = asyncio.create_task(user.http_client.get("/", follow_redirects=False))
    assert await asyncio.to_thread(entered.wait, BLOCK_LIMIT)
    # What NiceGUI does when the page misses its response timeout (or its
    # client is deleted): cancel the task that builds the page.
    (page_task,) = [
        t for t in background_tasks.running_tasks - earlier if t.get_name() == PAGE_TASK
    ]
    page_task.cancel()
    release.set()
    response = await load
    assert not response.is_redirect, response.headers.get("location")

    # The browser is still logged in: the board opens, no login page.
    await user.open("/")
    await user.should_see(marker="current-user", retries=RETRIES)
    await user.should_not_see("Log in to ItemHub")
