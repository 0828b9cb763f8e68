"""What a client written against the seed template expects of the API's contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User

from itemhub.runtime import Hub
from tests.e2e.api_helpers import API, Account
from tests.e2e.ui_helpers import running_app


async def test_an_item_needs_only_a_title_and_lands_in_the_first_column(
    client: httpx.AsyncClient, alice: Account, hub: Hub
) -> None:
    for body in ({"title": "bare"}, {"title": "with text", "description": "d"}):
        response = await client.post(f"{API}/items", json=body, headers=alice.auth)

        assert response.status_code == 201, response.text
        assert response.json()["column"] == hub.settings.board_columns[0]
        assert response.json()["title"] == body["title"]


async def test_the_schema_says_the_column_may_be_left_out(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    create = schema["components"]["schemas"]["ItemCreate"]

    assert create["required"] == ["title"]
    assert create["properties"]["column"]["type"] == "string"  # null stays refused


async def test_a_body_that_is_not_json_answers_422_in_the_api_error_shape(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for raw in (b"{not json", b'{"title": "x",}', b"\xff\xfe"):
        response = await client.post(
            f"{API}/items",
            content=raw,
            headers=alice.auth | {"Content-Type": "application/json"},
        )

        assert response.status_code == 422, (raw, response.text)
        detail = response.json()["detail"]
        assert detail[0]["type"] == "json_invalid", detail
        assert detail[0]["loc"][0] == "body", detail


async def test_every_operation_with_a_body_documents_its_422(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "422" not in operation["responses"]
    ]

    assert undocumented == []


async def test_the_event_stream_documents_its_json_401(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    stream = schema["paths"][f"{API}/events/stream"]["get"]["responses"]

    assert "application/json" in stream["401"]["content"]
    response = await client.get(f"{API}/events/stream")
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.fixture
async def web(app_env: Path, user: User) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the whole app: the API with NiceGUI's pages mounted beside it."""
    del app_env, user
    transport = httpx.ASGITransport(app=running_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize("method", ["TRACE", "PUT", "CONNECT"])
async def test_an_undeclared_method_answers_json_405_with_allow(
    web: httpx.AsyncClient, method: str
) -> None:
    response = await web.request(method, f"{API}/items")

    assert response.status_code == 405, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.json()["detail"]


async def test_an_unknown_api_path_answers_json_404_not_the_html_page(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get(f"{API}/no-such-thing")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
