"""The whole app (API, pages, socket) behind its guards: Host allow-list,
security headers, API docs; in NiceGUI's simulation, through the parent app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User

from tests.e2e.ui_helpers import running_app

SOCKET = "/_nicegui_ws/socket.io/?EIO=4&transport=polling"
DOCS = ("/docs", "/redoc", "/openapi.json")
HSTS = "max-age=63072000; includeSubDomains"


@asynccontextmanager
async def web_client(host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the whole app (every middleware) sending ``Host: host``."""
    transport = httpx.ASGITransport(app=running_app())
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{host}"
    ) as client:
        yield client


@pytest.fixture
def default_hosts(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ITEMHUB_ALLOWED_HOSTS: the defaults; request it before ``user``."""
    del app_env
    monkeypatch.delenv("ITEMHUB_ALLOWED_HOSTS")


@pytest.fixture
def prod_env(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ITEMHUB_ENV=prod with real secrets; request it before ``user``."""
    del app_env
    monkeypatch.setenv("ITEMHUB_ENV", "prod")
    monkeypatch.setenv("ITEMHUB_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("ITEMHUB_STORAGE_SECRET", "s" * 32)


@pytest.fixture
def proxy_host(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name a proxy passes, allowed; request it before ``user``."""
    del app_env
    monkeypatch.setenv("ITEMHUB_ALLOWED_HOSTS", "items.example.com")
    return "items.example.com"


@pytest.fixture
def public_docs(prod_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prod with ITEMHUB_PUBLIC_DOCS=true; request it before ``user``."""
    del prod_env
    monkeypatch.setenv("ITEMHUB_PUBLIC_DOCS", "true")


async def test_a_foreign_host_reaches_neither_api_nor_pages_nor_socket(
    default_hosts: None, user: User
) -> None:
    del default_hosts, user
    # What a page whose name was rebound to 127.0.0.1 sends.
    async with web_client("evil.example") as client:
        for path in ("/api/v1/health", "/login", SOCKET):
            response = await client.get(path)
            assert response.status_code == 400, path
            assert response.text == "Invalid host header", path
    for host in ("localhost:8080", "127.0.0.1:8080", "[::1]:8080", "localhost"):
        async with web_client(host) as client:
            assert (await client.get("/api/v1/health")).status_code == 200, host
            assert (await client.get("/login")).status_code == 200, host
            assert (await client.get(SOCKET)).status_code == 200, host


async def test_allowed_hosts_admit_the_name_a_proxy_passes(
    proxy_host: str, user: User
) -> None:
    del user
    async with web_client(proxy_host) as client:
        assert (await client.get("/api/v1/health")).status_code == 200
        assert (await client.get("/login")).status_code == 200
    async with web_client("evil.example") as client:
        assert (await client.get("/api/v1/health")).status_code == 400


async def test_dev_connects_to_its_own_origin_only_and_serves_the_docs(
    app_env: Path, user: User
) -> None:
    del app_env, user
    async with web_client("localhost:8080") as client:
        for path in ("/login", "/api/v1/health"):
            response = await client.get(path)
            policy = response.headers["content-security-policy"].split("; ")
            assert "connect-src 'self'" in policy, path
            assert "strict-transport-security" not in response.headers, path
        for path in DOCS:
            assert (await client.get(path)).status_code == 200, path


async def test_prod_sends_hsts_and_hides_the_docs(prod_env: None, user: User) -> None:
    del prod_env, user
    async with web_client("localhost:8080") as client:
        for path in ("/login", "/api/v1/health"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == HSTS, path
        for path in DOCS:
            assert (await client.get(path)).status_code == 404, path


async def test_prod_serves_the_docs_when_they_are_public(
    public_docs: None, user: User
) -> None:
    del public_docs, user
    async with web_client("localhost:8080") as client:
        for path in DOCS:
            assert (await client.get(path)).status_code == 200, path
