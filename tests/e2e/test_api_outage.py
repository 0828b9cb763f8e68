"""A read-model database that cannot answer gives 503 + Retry-After, not a crash."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from limits.storage import RedisStorage
from sqlalchemy import create_engine

from itemhub.auth import LoginGuard
from itemhub.projections.registry import projection_names
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.api_helpers import API, api_client, as_admin, bearer, new_account


def _unreachable_url(hub: Hub, tmp_path: Path) -> str:
    if hub.store.is_sqlite:
        # A file in a directory that does not exist: SQLite cannot open it.
        return f"sqlite:///{tmp_path / 'missing' / 'read.db'}"
    # Nothing listens on port 1 of the loopback: connection refused.
    return "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"


async def test_reads_during_an_outage_get_503_with_retry_after(
    hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_client(hub) as client:
        alice = await new_account(client, hub, prefix="alice")
        working = hub.read.engine
        hub.read.engine = create_engine(_unreachable_url(hub, tmp_path))
        try:
            with caplog.at_level(logging.WARNING, logger="itemhub.api"):
                response = await client.get(f"{API}/items", headers=alice.auth)
        finally:
            hub.read.engine.dispose()
            hub.read.engine = working

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "1"
        body = response.json()
        assert "database is unavailable" in body["detail"]
        assert body["request_id"] == response.headers["X-Request-ID"]
        # Logged as one warning line with the request id, not as a crash.
        records = [r for r in caplog.records if r.name == "itemhub.api"]
        assert [r.levelno for r in records] == [logging.WARNING]
        assert body["request_id"] in records[0].getMessage()
        assert records[0].exc_info is None

        # Back to normal once the database answers again.
        again = await client.get(f"{API}/items", headers=alice.auth)
        assert again.status_code == 200


async def test_readiness_shows_errors_and_positions_to_superusers_only(
    hub: Hub, tmp_path: Path
) -> None:
    async with api_client(hub) as client:
        admin = await as_admin(client)
        alice = await new_account(client, hub, prefix="alice")
        ready = await client.get(f"{API}/health/ready")
        assert ready.status_code == 200
        assert ready.json() == {
            "ready": True,
            "projections": [
                {"name": name, "state": "running"} for name in projection_names()
            ],
        }
        working = hub.store.reader
        hub.store.reader = create_engine(_unreachable_url(hub, tmp_path))
        try:
            public = [
                await client.get(f"{API}/health/ready", headers=headers)
                for headers in ({}, alice.auth, bearer("not-a-token"))
            ]
            detailed = await client.get(f"{API}/health/ready", headers=admin.auth)
        finally:
            hub.store.reader.dispose()
            hub.store.reader = working

    for response in public:
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["ready"] is False
        assert set(body) == {"ready", "projections"}
        assert all(set(p) == {"name", "state"} for p in body["projections"])
        assert "Error" not in response.text
    assert detailed.status_code == 503
    assert detailed.json()["read_models"] == "error: OperationalError"
    assert {"max_lag", "event_store"} <= set(detailed.json())


async def test_a_login_while_the_shared_throttle_store_is_down_gets_503(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    working = hub.auth.guard
    # Nothing listens on port 1: the counts behind the login throttle are gone.
    hub.auth.guard = LoginGuard.create(
        "5/minute", storage=RedisStorage("redis://127.0.0.1:1/0")
    )
    try:
        async with api_client(hub) as client:
            with caplog.at_level(logging.WARNING, logger="itemhub.api"):
                response = await client.post(
                    f"{API}/login/access-token",
                    data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                )
    finally:
        hub.auth.guard = working
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert "session store is unavailable" in response.json()["detail"]
    records = [r for r in caplog.records if r.name == "itemhub.api"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert ADMIN_PASSWORD not in records[0].getMessage()
