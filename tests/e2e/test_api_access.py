"""Who may see and change what: owners, other users and superusers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx

from itemhub.api import create_api
from itemhub.runtime import Hub
from tests.e2e.api_helpers import (
    API,
    Account,
    as_admin,
    create_item,
    get_item,
    list_items,
    new_account,
    titles,
)


async def test_another_users_items_never_appear_in_a_list(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    await create_item(client, alice, "alice's plan", description="shared word")
    bobs = await create_item(client, bob, "bob's plan", description="shared word")
    gone = await create_item(client, bob, "bob's archive")
    await client.post(f"{API}/items/{gone['id']}/archive", headers=bob.auth)
    queries: list[dict[str, str | int]] = [
        {},
        {"q": "plan"},
        {"q": "shared"},
        {"column": "Todo"},
        {"archived": "true"},
        {"owner_id": str(bob.id)},
        {"owner_id": str(bob.id), "archived": "true"},
        {"sort": "title", "order": "desc", "limit": 200},
    ]
    for params in queries:
        page = await list_items(client, alice, **params)
        assert bobs["id"] not in {i["id"] for i in page["data"]}, params
        assert all(i["owner_id"] == str(alice.id) for i in page["data"]), params
        assert page["count"] == len(page["data"]), params
    assert (await list_items(client, alice, owner_id=str(bob.id)))["count"] == 0


async def test_a_superuser_sees_changes_and_creates_every_users_items(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    admin = await as_admin(client)
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    alices = await create_item(client, alice, "alice's")
    bobs = await create_item(client, bob, "bob's")
    assert sorted(titles(await list_items(client, admin))) == ["alice's", "bob's"]
    only_bob = await list_items(client, admin, owner_id=str(bob.id))
    assert titles(only_bob) == ["bob's"]
    url = f"{API}/items/{alices['id']}"
    steps: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", url, None, 200),
        ("PATCH", url, {"title": "fixed by admin"}, 200),
        ("POST", f"{url}/move", {"column": "Done", "position": 0}, 200),
        ("POST", f"{url}/archive", None, 200),
        ("POST", f"{url}/restore", None, 200),
        ("PATCH", url, {"owner_id": str(bob.id)}, 200),
    ]
    for method, target, body, expected in steps:
        response = await client.request(method, target, json=body, headers=admin.auth)
        assert response.status_code == expected, (method, target, response.text)
    handed_over = (await get_item(client, bob, alices["id"])).json()
    assert handed_over["title"] == "fixed by admin"
    assert (handed_over["owner_id"], handed_over["changed_by"]) == (
        str(bob.id),
        "Administrator",
    )
    assert (await get_item(client, alice, alices["id"])).status_code == 404
    deleted = await client.delete(f"{API}/items/{bobs['id']}", headers=admin.auth)
    assert deleted.status_code == 204
    assert (await get_item(client, bob, bobs["id"])).status_code == 404
    # A superuser may create items for others, but only for active users.
    item = await create_item(client, admin, "for alice", owner_id=str(alice.id))
    assert item["owner_id"] == str(alice.id)
    assert titles(await list_items(client, alice)) == ["for alice"]
    nobody = await client.post(
        f"{API}/items",
        json={"title": "lost", "column": "Todo", "owner_id": str(uuid4())},
        headers=admin.auth,
    )
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["loc"] == ["body", "owner_id"]


async def test_a_standard_user_cannot_create_for_or_hand_items_to_others(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    mine = await create_item(client, alice, "mine")
    head = hub.head()
    created = await client.post(
        f"{API}/items",
        json={"title": "gift", "column": "Todo", "owner_id": str(bob.id)},
        headers=alice.auth,
    )
    handed = await client.patch(
        f"{API}/items/{mine['id']}",
        json={"owner_id": str(bob.id)},
        headers=alice.auth,
    )
    assert (created.status_code, handed.status_code) == (403, 403)
    assert hub.head() == head
    assert (await list_items(client, bob))["count"] == 0
    # Naming oneself as the owner is no change and is allowed.
    same = await client.patch(
        f"{API}/items/{mine['id']}",
        json={"owner_id": str(alice.id)},
        headers=alice.auth,
    )
    assert same.status_code == 200
    assert hub.head() == head


async def test_every_superuser_route_refuses_a_standard_user_with_403(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    head = hub.head()
    new_user = {"email": "intruder@example.com", "password": "password-123"}
    attempts: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "list users": ("GET", f"{API}/users", None),
        "create user": ("POST", f"{API}/users", new_user),
    }
    for label, target in (("other", bob.id), ("unknown", uuid4())):
        attempts |= {
            f"read {label}": ("GET", f"{API}/users/{target}", None),
            f"update {label}": (
                "PATCH",
                f"{API}/users/{target}",
                {"full_name": "Hacked"},
            ),
            f"deactivate {label}": ("POST", f"{API}/users/{target}/deactivate", None),
            f"reactivate {label}": ("POST", f"{API}/users/{target}/reactivate", None),
        }
    statuses = {}
    for name, (method, url, body) in attempts.items():
        response = await client.request(method, url, json=body, headers=alice.auth)
        statuses[name] = response.status_code
    assert statuses == dict.fromkeys(attempts, 403)
    assert hub.head() == head
    # A superuser asking the same gets 404 for the unknown id.
    admin = await as_admin(client)
    unknown = {n: a for n, a in attempts.items() if n.endswith("unknown")}
    for name, (method, url, body) in unknown.items():
        response = await client.request(method, url, json=body, headers=admin.auth)
        assert response.status_code == 404, name
    # A standard user may still read their own account by id.
    own = await client.get(f"{API}/users/{alice.id}", headers=alice.auth)
    assert own.status_code == 200
    assert own.json()["email"] == alice.email


# What to send to each route that takes an item id: a request a user who could
# see the item might make. A new item route must be added here (and so checked).
Attempt = tuple[dict[str, str], dict[str, object] | None, dict[str, str]]
ITEM_ROUTE_ATTEMPTS: dict[tuple[str, str], list[Attempt]] = {
    ("GET", "/items/{item_id}"): [
        ({}, None, {}),
        ({"version": "1"}, None, {}),
        ({"at": "2100-01-01T00:00:00Z"}, None, {}),
    ],
    ("PATCH", "/items/{item_id}"): [
        ({}, {"title": "taken"}, {}),
        ({}, {"title": "taken"}, {"If-Match": '"1"'}),
        ({}, {"title": "taken"}, {"Idempotency-Key": "probe"}),
    ],
    ("DELETE", "/items/{item_id}"): [({}, None, {}), ({}, None, {"If-Match": '"2"'})],
    ("GET", "/items/{item_id}/history"): [({}, None, {})],
    ("POST", "/items/{item_id}/history/{version}/restore"): [
        ({}, None, {}),
        ({}, None, {"If-Match": '"2"'}),
    ],
    ("POST", "/items/{item_id}/move"): [
        ({}, {"column": "Done", "position": 0}, {}),
        ({}, {"column": "Done", "position": 0}, {"If-Match": '"2"'}),
    ],
    ("POST", "/items/{item_id}/archive"): [
        ({}, None, {}),
        ({}, None, {"If-Match": '"2"'}),
    ],
    ("POST", "/items/{item_id}/restore"): [
        ({}, None, {}),
        ({}, None, {"If-Match": '"2"'}),
    ],
}


def routes_with(hub: Hub, parameter: str) -> set[tuple[str, str]]:
    """(method, path below /api/v1) of every documented route taking ``parameter``."""
    paths: dict[str, dict[str, object]] = create_api(hub).openapi()["paths"]
    return {
        (method.upper(), path.removeprefix(API))
        for path, operations in paths.items()
        if f"{{{parameter}}}" in path
        for method in operations
    }


async def answers_for(
    client: httpx.AsyncClient, account: Account, item_id: object
) -> dict[str, tuple[int, str]]:
    """Every attempt on every item route, on one id: status and body, the id masked."""
    answers = {}
    for (method, path), attempts in ITEM_ROUTE_ATTEMPTS.items():
        url = API + path.format(item_id=item_id, version=1)
        for n, (params, body, headers) in enumerate(attempts):
            response = await client.request(
                method, url, params=params, json=body, headers=account.auth | headers
            )
            masked = response.text.replace(str(item_id), "<id>")
            answers[f"{method} {path} #{n}"] = (response.status_code, masked)
    return answers


async def test_every_item_route_answers_another_users_item_as_a_random_id(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    assert routes_with(hub, "item_id") == set(ITEM_ROUTE_ATTEMPTS)
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    edited = await create_item(client, bob, "bob's")
    changed = await client.patch(
        f"{API}/items/{edited['id']}", json={"title": "bob's v2"}, headers=bob.auth
    )
    assert changed.status_code == 200
    archived = await create_item(client, bob, "bob's archived")
    gone = await client.post(f"{API}/items/{archived['id']}/archive", headers=bob.auth)
    assert gone.status_code == 200
    head = hub.head()
    unknown = await answers_for(client, alice, uuid4())
    assert {status for status, _ in unknown.values()} == {404}, unknown
    for item_id in (edited["id"], archived["id"]):
        assert await answers_for(client, alice, item_id) == unknown
    assert hub.head() == head
    # The control: the owner reads both.
    for item_id in (edited["id"], archived["id"]):
        assert (await get_item(client, bob, item_id)).status_code == 200


async def test_every_user_route_answers_another_user_as_a_random_id(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    head = hub.head()
    bodies: dict[str, dict[str, object] | None] = {
        "GET": None,
        "PATCH": {"full_name": "Hacked"},
        "POST": None,
    }
    routes = routes_with(hub, "user_id")
    assert routes, "no route takes a user id"

    async def answers(user_id: object) -> dict[str, tuple[int, str]]:
        found = {}
        for method, path in sorted(routes):
            response = await client.request(
                method,
                API + path.format(user_id=user_id),
                json=bodies[method],
                headers=alice.auth,
            )
            masked = response.text.replace(str(user_id), "<id>")
            found[f"{method} {path}"] = (response.status_code, masked)
        return found

    unknown = await answers(uuid4())
    assert {status for status, _ in unknown.values()} == {403}, unknown
    assert await answers(bob.id) == unknown
    assert hub.head() == head
