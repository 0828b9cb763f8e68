"""Idempotency-Key: a retry gets the first response and appends nothing."""

from __future__ import annotations

import asyncio

import httpx

from itemhub.runtime import Hub
from tests.e2e.api_helpers import (
    API,
    Account,
    create_item,
    get_item,
    list_items,
    new_account,
)


def keyed(account: Account, key: str) -> dict[str, str]:
    return account.auth | {"Idempotency-Key": key}


def same_response(first: httpx.Response, retry: httpx.Response) -> None:
    assert retry.status_code == first.status_code
    assert retry.content == first.content
    for header in ("ETag", "Location"):
        assert retry.headers.get(header) == first.headers.get(header), header


async def test_create_retried_with_the_same_key_replays_the_first_response(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    body = {"title": "once", "column": "Todo"}
    key = "k" * 200  # the longest key taken
    first = await client.post(f"{API}/items", json=body, headers=keyed(alice, key))
    assert first.status_code == 201
    head = hub.head()
    retry = await client.post(f"{API}/items", json=body, headers=keyed(alice, key))
    same_response(first, retry)
    assert retry.headers["ETag"] == '"1"'
    assert hub.head() == head
    assert (await list_items(client, alice))["count"] == 1


async def test_a_reused_key_with_another_request_or_a_bad_key_gets_422(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    first = await client.post(
        f"{API}/items",
        json={"title": "one", "column": "Todo"},
        headers=keyed(alice, "k"),
    )
    assert first.status_code == 201
    head = hub.head()
    other = await client.post(
        f"{API}/items",
        json={"title": "two", "column": "Todo"},
        headers=keyed(alice, "k"),
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in str(other.json()["detail"])
    # Nor may the key be reused on another route.
    patch = await client.patch(
        f"{API}/items/{first.json()['id']}",
        json={"title": "one"},
        headers=keyed(alice, "k"),
    )
    assert patch.status_code == 422
    # Nor is a key taken that is empty, too long or not printable.
    for key in ("", "k" * 201, "tab\there"):
        response = await client.post(
            f"{API}/items",
            json={"title": "x", "column": "Todo"},
            headers=keyed(alice, key),
        )
        assert response.status_code == 422, repr(key)
    assert hub.head() == head
    assert [i["title"] for i in (await list_items(client, alice))["data"]] == ["one"]


async def test_patch_retry_replays_the_first_response_even_after_later_changes(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    headers = keyed(alice, "edit-1") | {"If-Match": '"1"'}
    first = await client.patch(url, json={"title": "edited"}, headers=headers)
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    head = hub.head()
    retry = await client.patch(url, json={"title": "edited"}, headers=headers)
    same_response(first, retry)
    assert hub.head() == head
    await client.patch(url, json={"title": "later"}, headers=alice.auth)
    head = hub.head()
    late_retry = await client.patch(url, json={"title": "edited"}, headers=headers)
    same_response(first, late_retry)  # the stale If-Match is not a conflict
    assert hub.head() == head
    assert (await get_item(client, alice, item["id"])).json()["title"] == "later"


async def test_delete_retry_replays_204_and_the_key_cannot_delete_another_item(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    doomed = await create_item(client, alice, "doomed")
    kept = await create_item(client, alice, "kept")
    first = await client.delete(
        f"{API}/items/{doomed['id']}", headers=keyed(alice, "del")
    )
    assert first.status_code == 204
    head = hub.head()
    retry = await client.delete(
        f"{API}/items/{doomed['id']}", headers=keyed(alice, "del")
    )
    same_response(first, retry)
    assert retry.content == b""
    other = await client.delete(
        f"{API}/items/{kept['id']}", headers=keyed(alice, "del")
    )
    assert other.status_code == 422
    assert hub.head() == head
    assert (await get_item(client, alice, kept["id"])).status_code == 200


async def test_move_and_archive_retries_replay_and_another_target_is_refused(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice, "mover")
    await create_item(client, alice, "other", "Done")
    url = f"{API}/items/{item['id']}/move"
    target = {"column": "Done", "position": 0}
    first = await client.post(url, json=target, headers=keyed(alice, "mv"))
    assert first.status_code == 200
    assert (first.json()["column"], first.json()["position"]) == ("Done", 0)
    head = hub.head()
    retry = await client.post(url, json=target, headers=keyed(alice, "mv"))
    same_response(first, retry)
    elsewhere = await client.post(
        url, json={"column": "Done", "position": 1}, headers=keyed(alice, "mv")
    )
    assert elsewhere.status_code == 422
    assert hub.head() == head
    moved = (await get_item(client, alice, item["id"])).json()
    assert (moved["column"], moved["position"], moved["version"]) == ("Done", 0, 2)
    # An archive retried is the first answer again, not "already archived".
    archive = f"{API}/items/{item['id']}/archive"
    archived = await client.post(archive, headers=keyed(alice, "arch"))
    assert archived.status_code == 200
    head = hub.head()
    same_response(archived, await client.post(archive, headers=keyed(alice, "arch")))
    assert hub.head() == head


async def test_keys_belong_to_one_user(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    bob = await new_account(client, hub, prefix="bob")
    body = {"title": "mine", "column": "Todo"}
    for_alice = await client.post(
        f"{API}/items", json=body, headers=keyed(alice, "shared")
    )
    for_bob = await client.post(f"{API}/items", json=body, headers=keyed(bob, "shared"))
    assert (for_alice.status_code, for_bob.status_code) == (201, 201)
    assert for_alice.json()["id"] != for_bob.json()["id"]
    assert for_bob.json()["owner_id"] == str(bob.id)
    assert (await list_items(client, alice))["count"] == 1
    assert (await list_items(client, bob))["count"] == 1


async def test_another_users_key_replays_nothing_of_theirs(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    bob = await new_account(client, hub, prefix="bob")
    item = await create_item(client, alice, "alice's")
    url = f"{API}/items/{item['id']}"
    edited = await client.patch(
        url, json={"title": "alice's plan"}, headers=keyed(alice, "edit")
    )
    assert edited.status_code == 200
    head = hub.head()
    # Bob sends Alice's very request, key and all: her stored answer is not his.
    for method, body in (("PATCH", {"title": "alice's plan"}), ("DELETE", None)):
        replayed = await client.request(
            method, url, json=body, headers=keyed(bob, "edit")
        )
        assert replayed.status_code == 404, replayed.text
        assert "alice's plan" not in replayed.text
    assert hub.head() == head
    assert (await get_item(client, alice, item["id"])).json() == edited.json()


async def test_concurrent_requests_with_one_key_create_one_item(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    head = hub.head()
    body = {"title": "raced", "column": "Todo"}
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/items", json=body, headers=keyed(alice, "race"))
            for _ in range(4)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert (await list_items(client, alice))["count"] == 1
    assert hub.head() == head + 1
