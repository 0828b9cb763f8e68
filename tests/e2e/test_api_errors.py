"""Bad input is refused with JSON errors and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from itemhub.api import create_api
from itemhub.api.errors import MAX_BODY_BYTES
from itemhub.runtime import Hub
from tests.e2e.api_helpers import (
    API,
    Account,
    as_admin,
    create_item,
    get_item,
    list_items,
)

Attempt = tuple[str, str, Any]


async def refused(
    client: httpx.AsyncClient, account: Account, attempts: list[Attempt]
) -> list[dict[str, Any]]:
    """Send each (method, path, JSON body); each must get 422. Their first errors."""
    errors = []
    for method, path, body in attempts:
        response = await client.request(
            method, f"{API}{path}", json=body, headers=account.auth
        )
        assert response.status_code == 422, (method, path, body, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail, detail
        errors.append(detail[0])
    return errors


async def test_unknown_fields_are_refused_and_change_nothing(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    admin = await as_admin(client)
    item = await create_item(client, alice)
    items = f"/items/{item['id']}"
    head = hub.head()
    extra = {"colour": "red"}
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", {"title": "x", "column": "Todo", **extra}),
            ("PATCH", items, {"title": "x", **extra}),
            ("PATCH", items, {"version": 7}),
            ("POST", f"{items}/move", {"column": "Done", "position": 0, **extra}),
            ("PATCH", "/users/me", {"full_name": "x", **extra}),
            (
                "PATCH",
                "/users/me/password",
                {"current_password": "a", "new_password": "b" * 8, **extra},
            ),
        ],
    )
    errors += await refused(
        client,
        admin,
        [
            (
                "POST",
                "/users",
                {"email": "x@example.com", "password": "p" * 8, **extra},
            ),
            ("PATCH", f"/users/{alice.id}", {"full_name": "x", **extra}),
        ],
    )
    assert {e["type"] for e in errors} == {"extra_forbidden"}
    assert hub.head() == head
    assert (await get_item(client, alice, item["id"])).json() == item


async def test_wrong_types_are_refused_and_change_nothing(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    admin = await as_admin(client)
    item = await create_item(client, alice)
    items = f"/items/{item['id']}"
    head = hub.head()
    new = {"title": "x", "column": "Todo"}
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", new | {"title": 5}),
            ("POST", "/items", new | {"position": "1"}),
            ("POST", "/items", new | {"position": 1.5}),
            ("POST", "/items", new | {"position": True}),
            ("POST", "/items", new | {"column": None}),
            ("POST", "/items", new | {"description": ["a"]}),
            ("POST", "/items", new | {"owner_id": "someone"}),
            ("POST", "/items", [new]),
            ("POST", "/items", "title"),
            ("PATCH", items, {"title": 5}),
            ("PATCH", items, {"description": False}),
            ("POST", f"{items}/move", {"column": "Done", "position": "1"}),
            ("POST", f"{items}/move", {"column": 3, "position": 0}),
            ("PATCH", "/users/me", {"full_name": 12}),
        ],
    )
    errors += await refused(
        client,
        admin,
        [
            ("POST", "/users", {"email": "a@example.com", "password": 12345678}),
            ("PATCH", f"/users/{alice.id}", {"is_superuser": "yes"}),
            ("PATCH", f"/users/{alice.id}", {"is_active": 1}),
        ],
    )
    assert all(e["loc"][0] == "body" for e in errors), errors
    assert hub.head() == head
    assert (await list_items(client, alice))["count"] == 1


async def test_titles_need_1_to_200_characters(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    items = f"/items/{item['id']}"
    head = hub.head()
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", {"title": "", "column": "Todo"}),
            ("POST", "/items", {"title": "x" * 201, "column": "Todo"}),
            ("POST", "/items", {"column": "Todo"}),
            ("PATCH", items, {"title": ""}),
            ("PATCH", items, {"title": "x" * 201}),
        ],
    )
    assert all(e["loc"] == ["body", "title"] for e in errors), errors
    assert hub.head() == head
    longest = await create_item(client, alice, "x" * 200)
    assert len(longest["title"]) == 200


async def test_a_whitespace_only_title_is_a_422_on_body_title(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice, "kept")
    head = hub.head()
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", {"title": "   ", "column": "Todo"}),
            ("PATCH", f"/items/{item['id']}", {"title": " \t\n "}),
        ],
    )
    for error in errors:
        assert error["loc"] == ["body", "title"]
        assert error["type"] == "value_error"
        assert error["msg"]
    assert hub.head() == head
    assert (await get_item(client, alice, item["id"])).json()["title"] == "kept"


async def test_an_unknown_column_or_a_position_out_of_range_is_refused(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    head = hub.head()
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", {"title": "x", "column": "Someday"}),
            ("POST", "/items", {"title": "x", "column": ""}),
            ("POST", f"/items/{item['id']}/move", {"column": "Nope", "position": 0}),
        ],
    )
    assert all(e["loc"] == ["body", "column"] for e in errors), errors
    assert "Backlog" in errors[0]["msg"]
    move = f"/items/{item['id']}/move"
    errors = await refused(
        client,
        alice,
        [
            ("POST", "/items", {"title": "x", "column": "Todo", "position": -1}),
            ("POST", move, {"column": "Todo", "position": -1}),
            ("POST", move, {"column": "Todo", "position": 1_000_001}),
            ("POST", move, {"column": "Todo"}),
        ],
    )
    assert all(e["loc"] == ["body", "position"] for e in errors), errors
    assert hub.head() == head


async def test_a_body_over_one_mebibyte_gets_413_json_and_changes_nothing(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    head = hub.head()
    huge = "x" * (MAX_BODY_BYTES + 1)
    for method, path in (("POST", "/items"), ("PATCH", f"/items/{item['id']}")):
        response = await client.request(
            method,
            f"{API}{path}",
            json={"title": "big", "column": "Todo", "description": huge},
            headers=alice.auth,
        )
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/json"
        assert "detail" in response.json()
    assert hub.head() == head


async def test_a_chunked_body_over_one_mebibyte_gets_413_json(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    head = hub.head()
    body = b'{"title": "big", "column": "Todo", "description": "'
    body += b"x" * (MAX_BODY_BYTES + 1) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        f"{API}/items",
        content=chunks(),
        headers=alice.auth | {"Content-Type": "application/json"},
    )
    assert hub.head() == head
    assert response.status_code == 413, response.text
    assert "detail" in response.json()


async def test_every_api_route_refuses_an_oversized_body_before_anything_else(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    ids = {"item_id": item["id"], "user_id": str(alice.id), "version": "1"}
    paths: dict[str, dict[str, object]] = create_api(hub).openapi()["paths"]
    head = hub.head()
    huge = b"x" * (MAX_BODY_BYTES + 1)
    for path, operations in paths.items():
        for method in operations:
            # Also without a token: the size is checked before who is asking.
            for headers in (alice.auth, {}):
                response = await client.request(
                    method.upper(),
                    path.format(**ids),
                    content=huge,
                    headers=headers | {"Content-Type": "application/json"},
                )
                where = (method, path, bool(headers))
                assert response.status_code == 413, (where, response.text)
                assert "detail" in response.json(), where
    assert hub.head() == head
    # Not even logout or a password change went through.
    assert (await get_item(client, alice, item["id"])).status_code == 200


async def test_unknown_api_paths_get_a_json_404_with_a_detail(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for method, path in (
        ("GET", "/nope"),
        ("GET", "/items/extra/segments"),
        ("POST", "/users/me/avatar"),
        ("GET", "/v2/items"),
    ):
        for headers in ({}, alice.auth):
            response = await client.request(method, f"{API}{path}", headers=headers)
            assert response.status_code == 404, (method, path)
            assert response.headers["content-type"] == "application/json"
            assert path in response.json()["detail"]


async def test_a_known_path_with_another_method_gets_a_json_405_with_allow(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for method, path, allowed in (
        ("PUT", "/items", {"GET", "POST"}),
        ("DELETE", "/login/access-token", {"POST"}),
    ):
        for headers in ({}, alice.auth):
            response = await client.request(method, f"{API}{path}", headers=headers)
            assert response.status_code == 405, (method, path)
            assert response.headers["content-type"] == "application/json"
            assert set(response.headers["Allow"].split(", ")) >= allowed
            assert response.json()["detail"]


async def test_malformed_bodies_and_ids_get_422(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    head = hub.head()
    for content, content_type in (
        (b'{"title": "x", "column": ', "application/json"),
        (b"", "application/json"),
        (b"title=x&column=Todo", "application/x-www-form-urlencoded"),
    ):
        response = await client.post(
            f"{API}/items",
            content=content,
            headers=alice.auth | {"Content-Type": content_type},
        )
        assert response.status_code == 422, content
    assert hub.head() == head
    # Ids in the path that are not UUIDs.
    for method, path in (
        ("GET", "/items/42"),
        ("DELETE", "/items/not-a-uuid"),
        ("POST", "/items/42/archive"),
        ("GET", "/users/42"),
    ):
        response = await client.request(method, f"{API}{path}", headers=alice.auth)
        assert response.status_code == 422, (method, path)
        assert response.json()["detail"][0]["loc"][0] == "path"


async def test_lone_surrogates_and_infinite_numbers_get_a_422_that_names_them(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    admin = await as_admin(client)
    item = await create_item(client, alice)
    items = f"/items/{item['id']}"
    new = '"title": "x", "column": "Todo"'
    head = hub.head()
    # Raw JSON text (json= encodes neither), and the input the 422 echoes.
    attempts = [
        (alice, "POST", "/items", r'{"title": "\ud800", "column": "Todo"}', r"\ud800"),
        (alice, "POST", "/items", r'{"title": "x", "column": "\udc00"}', r"\udc00"),
        (alice, "POST", "/items", "{" + new + r', "\ud800": 1}', r"\ud800"),
        (alice, "POST", "/items", '{"title": 1e400, "column": "Todo"}', "inf"),
        (alice, "POST", "/items", "{" + new + ', "position": 1e400}', "inf"),
        (alice, "PATCH", items, r'{"title": "a\ud800b"}', r"a\ud800b"),
        (alice, "PATCH", items, '{"description": -1e400}', "-inf"),
        (
            alice,
            "POST",
            f"{items}/move",
            '{"column": "Done", "position": 1e400}',
            "inf",
        ),
        (alice, "PATCH", "/users/me", r'{"full_name": "\udfff"}', r"\udfff"),
        (admin, "POST", "/users", r'{"email": "\ud800@x.com"}', r"\ud800@x.com"),
    ]
    for account, method, path, body, echoed in attempts:
        response = await client.request(
            method,
            f"{API}{path}",
            content=body.encode(),
            headers=account.auth | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (body, response.text)
        error = response.json()["detail"][0]
        assert error["loc"][0] == "body", (body, error)
        assert error["msg"], (body, error)
        assert error["input"] == echoed, (body, error)
    assert hub.head() == head
    assert (await get_item(client, alice, item["id"])).json()["title"] == item["title"]


DEPTH = 700  # what FastAPI's own 422 echoed; the JSON parser allows a little more


@pytest.mark.parametrize(
    "title",
    ["[" * DEPTH + "]" * DEPTH, '{"a": ' * DEPTH + "1" + "}" * DEPTH],
    ids=["lists", "objects"],
)
async def test_a_deeply_nested_title_gets_a_422_not_a_crash(
    client: httpx.AsyncClient, hub: Hub, alice: Account, title: str
) -> None:
    head = hub.head()
    response = await client.post(
        f"{API}/items",
        content=f'{{"title": {title}, "column": "Todo"}}'.encode(),
        headers=alice.auth | {"Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert hub.head() == head
