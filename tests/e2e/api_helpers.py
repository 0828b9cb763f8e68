"""Helpers for the REST API tests: an ASGI client, accounts, items and tokens.

Every client made here checks each 4xx answer on the way back: it must be JSON
with a ``detail``, so every API test also checks the error contract.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import jwt
from fastapi import FastAPI

from itemhub.api import create_api
from itemhub.config import secret_value
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, register

API = "/api/v1"
# The password tests.conftest.register gives every user.
PASSWORD = "password-123"
AUDIENCE = "itemhub:api"


async def require_json_detail_on_4xx(response: httpx.Response) -> None:
    """Event hook: every client error is JSON and carries ``detail``."""
    if not 400 <= response.status_code < 500:
        return
    await response.aread()
    where = f"{response.request.method} {response.request.url.path}"
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/json"), (
        f"{where} answered {response.status_code} as {content_type!r}: "
        f"{response.text[:200]!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and "detail" in body, (
        f"{where} answered {response.status_code} without detail: {body!r}"
    )


@asynccontextmanager
async def api_client(
    hub: Hub, *, client_ip: str = "127.0.0.1", app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the API over ASGI, as if from ``client_ip``."""
    transport = httpx.ASGITransport(
        app=app if app is not None else create_api(hub), client=(client_ip, 40000)
    )
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        event_hooks={"response": [require_json_detail_on_4xx]},
    ) as client:
        yield client


@dataclass(frozen=True, slots=True)
class Account:
    """A logged-in user of the API."""

    id: UUID
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this account's token."""
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def unique_email(prefix: str = "user") -> str:
    """An address no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """POST the login form."""
    return await client.post(
        f"{API}/login/access-token", data={"username": email, "password": password}
    )


async def token_for(client: httpx.AsyncClient, email: str, password: str) -> str:
    """A fresh access token (the login must succeed)."""
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def as_admin(client: httpx.AsyncClient) -> Account:
    """The first superuser, logged in."""
    token = await token_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    me = await client.get(f"{API}/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    return Account(UUID(me.json()["id"]), ADMIN_EMAIL, ADMIN_PASSWORD, token)


async def new_account(
    client: httpx.AsyncClient,
    hub: Hub,
    *,
    superuser: bool = False,
    prefix: str = "user",
) -> Account:
    """Register a user (as the admin, through the command bus) and log them in."""
    email = unique_email(prefix)
    ctx = await asyncio.to_thread(register, hub, email, superuser=superuser)
    token = await token_for(client, email, PASSWORD)
    return Account(ctx.actor_id, email, PASSWORD, token)


async def create_item(
    client: httpx.AsyncClient,
    account: Account,
    title: str = "card",
    column: str = "Todo",
    **fields: object,
) -> dict[str, Any]:
    """Create an item through the API (it must succeed) and return its JSON."""
    response = await client.post(
        f"{API}/items",
        json={"title": title, "column": column, **fields},
        headers=account.auth,
    )
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def get_item(
    client: httpx.AsyncClient, account: Account, item_id: object
) -> httpx.Response:
    """GET one item."""
    return await client.get(f"{API}/items/{item_id}", headers=account.auth)


async def list_items(
    client: httpx.AsyncClient, account: Account, **params: str | int
) -> dict[str, Any]:
    """GET /items with query parameters (it must succeed)."""
    response = await client.get(f"{API}/items", params=params, headers=account.auth)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def titles(page: dict[str, Any]) -> list[str]:
    """The titles of a page of items, in order."""
    return [item["title"] for item in page["data"]]


def event_count(hub: Hub, aggregate_id: object) -> int:
    """How many events the aggregate has in the store."""
    return len(list(hub.app.events.get(UUID(str(aggregate_id)))))


# --- tokens made by hand ----------------------------------------------------


def api_signing_key(secret: str) -> bytes:
    """The API's JWT key as the token service derives it from the secret."""
    return hmac.new(secret.encode(), b"itemhub-api-jwt", hashlib.sha256).digest()


def hub_secret(hub: Hub) -> str:
    """The hub's secret key (in dev, the one it generated)."""
    return secret_value(hub.settings.secret_key)


def claims_for(user_id: UUID, version: object = 0, **changes: object) -> dict[str, Any]:
    """The claims of a valid token; ``changes`` override (None removes a claim)."""
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "aud": AUDIENCE,
        "ver": version,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def signed_token(hub: Hub, claims: dict[str, Any]) -> str:
    """A token signed (HS256) with the hub's real API key."""
    return jwt.encode(claims, api_signing_key(hub_secret(hub)), algorithm="HS256")


def unsigned_token(claims: dict[str, Any]) -> str:
    """A token with ``alg: none`` and no signature, built by hand."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def hs512_token(hub: Hub, claims: dict[str, Any]) -> str:
    """A token signed with the hub's real key but HS512, built by hand."""
    signing_input = f"{_segment({'alg': 'HS512', 'typ': 'JWT'})}.{_segment(claims)}"
    key = api_signing_key(hub_secret(hub))
    signature = hmac.new(key, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64(signature)}"


def relabelled_token(hub: Hub, claims: dict[str, Any], alg: str) -> str:
    """A token whose header names ``alg``, HMAC-SHA256-signed with the real key."""
    signing_input = f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(claims)}"
    key = api_signing_key(hub_secret(hub))
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def with_payload(token: str, **changes: object) -> str:
    """A genuine token with claims changed in its payload, its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # Compact, as PyJWT writes it: with no change the token stays byte-identical.
    rewritten = json.dumps(claims | changes, separators=(",", ":")).encode()
    return f"{header}.{_b64(rewritten)}.{signature}"


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, default=_numeric_date).encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _numeric_date(value: object) -> int:
    assert isinstance(value, dt.datetime)
    return int(value.timestamp())
