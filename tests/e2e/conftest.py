"""Fixtures for tests that run the whole app (``app.py``) in NiceGUI's simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a fresh SQLite store; request it before ``user``."""
    monkeypatch.setenv("ITEMHUB_DATABASE_URL", f"sqlite:///{tmp_path}/data/itemhub.db")
    monkeypatch.setenv("ITEMHUB_FIRST_SUPERUSER_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("ITEMHUB_FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    # httpx clients on the whole app (the app NiceGUI built) send Host: test.
    monkeypatch.setenv("ITEMHUB_ALLOWED_HOSTS", "test")
    return tmp_path
