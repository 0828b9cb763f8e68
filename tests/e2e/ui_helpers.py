"""Helpers for tests in NiceGUI's user simulation."""

from __future__ import annotations

from nicegui.testing import User

RETRIES = 50  # should_see polls every 0.1 s; logins hash with Argon2


async def login(user: User, email: str, password: str) -> None:
    await user.open("/login")
    user.find(marker="email").type(email)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="current-user", retries=RETRIES)
