"""The login page says so when a store it needs is down (user simulation)."""

from __future__ import annotations

from pathlib import Path

import pytest
from limits.storage import RedisStorage
from nicegui.testing import User

from itemhub.auth import LoginGuard
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.ui_helpers import RETRIES, login, running_hub


def throttle_store_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count failed logins in a Redis that is not there."""
    # Nothing listens on port 1: the shared counts of failed logins are gone.
    monkeypatch.setattr(
        running_hub().auth,
        "guard",
        LoginGuard.create("5/minute", storage=RedisStorage("redis://127.0.0.1:1/0")),
    )


async def test_a_login_while_the_throttle_store_is_down_notifies_and_stays(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    await user.open("/login")
    throttle_store_down(monkeypatch)
    user.find(marker="email").type(ADMIN_EMAIL)
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login").click()
    await user.should_see("Logging in is not possible right now", retries=RETRIES)
    await user.should_not_see(marker="current-user")


async def test_a_password_change_while_the_throttle_store_is_down_notifies(
    app_env: Path, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/profile")
    throttle_store_down(monkeypatch)
    head = running_hub().head()
    user.find(marker="current-password").type(ADMIN_PASSWORD)
    user.find(marker="new-password").type("next-pass-123")
    user.find(marker="change-password").click()
    await user.should_see("not possible right now", retries=RETRIES)
    await user.should_see(marker="current-user")  # still logged in, unchanged
    assert running_hub().head() == head
