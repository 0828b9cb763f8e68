"""Fixtures of the end-to-end tests: an API client over ASGI, and the whole app
(``app.py``) in NiceGUI's simulation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.api_helpers import Account, api_client, new_account


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the API (no NiceGUI) on the test's runtime."""
    async with api_client(hub) as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient, hub: Hub) -> Account:
    """A fresh standard user with a token."""
    return await new_account(client, hub, prefix="alice")


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a fresh SQLite store; request it before ``user``."""
    monkeypatch.setenv("ITEMHUB_DATABASE_URL", f"sqlite:///{tmp_path}/data/itemhub.db")
    monkeypatch.setenv("ITEMHUB_FIRST_SUPERUSER_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("ITEMHUB_FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    # httpx clients on the whole app (the app NiceGUI built) send Host: test.
    monkeypatch.setenv("ITEMHUB_ALLOWED_HOSTS", "test")
    return tmp_path
