"""Items over HTTP: create, read, change, move, archive, delete, with ETag/If-Match."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from itemhub.runtime import Hub
from tests.e2e.api_helpers import (
    API,
    Account,
    as_admin,
    create_item,
    event_count,
    get_item,
    list_items,
    titles,
)


def if_match(account: Account, version: int | str) -> dict[str, str]:
    tag = version if isinstance(version, str) else f'"{version}"'
    return account.auth | {"If-Match": tag}


async def column_titles(
    client: httpx.AsyncClient, account: Account, column: str
) -> list[tuple[str, int]]:
    page = await list_items(client, account, column=column)
    return [(item["title"], item["position"]) for item in page["data"]]


async def test_create_answers_201_with_etag_1_and_a_location_serving_the_item(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        f"{API}/items",
        json={"title": "  Write the spec  ", "description": "v1", "column": "todo"},
        headers=alice.auth,
    )
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"1"'
    item = response.json()
    assert response.headers["Location"] == f"{API}/items/{item['id']}"
    assert {k: item[k] for k in ("title", "description", "column", "position")} == {
        "title": "Write the spec",
        "description": "v1",
        "column": "Todo",
        "position": 0,
    }
    assert (item["owner_id"], item["changed_by_id"]) == (str(alice.id),) * 2
    assert (item["version"], item["archived"]) == (1, False)
    fetched = await client.get(response.headers["Location"], headers=alice.auth)
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"1"'
    assert fetched.json() == item


async def test_patch_changes_only_the_fields_sent_and_the_etag_follows(
    client: httpx.AsyncClient, alice: Account
) -> None:
    item = await create_item(client, alice, "title", description="first")
    url = f"{API}/items/{item['id']}"
    described = await client.patch(
        url, json={"description": "second"}, headers=alice.auth
    )
    assert described.status_code == 200
    assert (described.json()["title"], described.json()["description"]) == (
        "title",
        "second",
    )
    assert described.headers["ETag"] == '"2"'
    fetched = await client.get(url, headers=alice.auth)
    assert (fetched.headers["ETag"], fetched.json()) == ('"2"', described.json())
    renamed = await client.patch(url, json={"title": "renamed"}, headers=alice.auth)
    assert renamed.headers["ETag"] == '"3"'
    body = renamed.json()
    assert (body["title"], body["description"], body["column"]) == (
        "renamed",
        "second",
        "Todo",
    )
    assert body["version"] == 3
    # Nothing to change: no new version.
    same = await client.patch(url, json={}, headers=alice.auth)
    assert same.status_code == 200
    assert same.headers["ETag"] == '"3"'


async def test_moves_keep_positions_dense_in_every_column(
    client: httpx.AsyncClient, alice: Account
) -> None:
    ids = {}
    for title in "abcd":
        ids[title] = (await create_item(client, alice, title, "Doing"))["id"]

    async def move(title: str, column: str, position: int) -> dict[str, object]:
        response = await client.post(
            f"{API}/items/{ids[title]}/move",
            json={"column": column, "position": position},
            headers=alice.auth,
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    moved = await move("d", "Doing", 0)
    assert (moved["column"], moved["position"], moved["version"]) == ("Doing", 0, 2)
    assert await column_titles(client, alice, "Doing") == [
        ("d", 0),
        ("a", 1),
        ("b", 2),
        ("c", 3),
    ]
    # Past the end of an empty column: it goes last, at index 0.
    moved = await move("a", "Done", 7)
    assert (moved["column"], moved["position"]) == ("Done", 0)
    assert await column_titles(client, alice, "Doing") == [
        ("d", 0),
        ("b", 1),
        ("c", 2),
    ]
    assert await column_titles(client, alice, "Done") == [("a", 0)]
    await move("c", "Done", 0)
    await move("d", "Doing", 1)
    assert await column_titles(client, alice, "Doing") == [("b", 0), ("d", 1)]
    assert await column_titles(client, alice, "Done") == [("c", 0), ("a", 1)]


async def test_archive_takes_an_item_off_the_board_and_restore_puts_it_last(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await create_item(client, alice, "first")
    await create_item(client, alice, "second")
    url = f"{API}/items/{first['id']}"
    archived = await client.post(f"{url}/archive", headers=alice.auth)
    assert archived.status_code == 200
    assert archived.headers["ETag"] == '"2"'
    assert (archived.json()["archived"], archived.json()["position"]) == (True, None)
    assert await column_titles(client, alice, "Todo") == [("second", 0)]
    assert titles(await list_items(client, alice, archived="true")) == ["first"]
    # An archived item cannot be archived again or moved.
    again = await client.post(f"{url}/archive", headers=alice.auth)
    assert again.status_code == 409
    move = await client.post(
        f"{url}/move", json={"column": "Done", "position": 0}, headers=alice.auth
    )
    assert move.status_code == 409
    restored = await client.post(f"{url}/restore", headers=alice.auth)
    assert restored.status_code == 200
    assert (restored.json()["archived"], restored.json()["position"]) == (False, 1)
    assert await column_titles(client, alice, "Todo") == [("second", 0), ("first", 1)]
    assert (await client.post(f"{url}/restore", headers=alice.auth)).status_code == 409


async def test_delete_answers_204_and_then_the_item_is_gone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    deleted = await client.delete(url, headers=alice.auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(url, headers=alice.auth)).status_code == 404
    assert (await client.delete(url, headers=alice.auth)).status_code == 404
    changed = await client.patch(url, json={"title": "zombie"}, headers=alice.auth)
    assert changed.status_code == 404
    assert (await list_items(client, alice))["count"] == 0
    assert (await list_items(client, alice, archived="true"))["count"] == 0


async def test_every_mutation_is_visible_to_the_next_read(
    client: httpx.AsyncClient, alice: Account
) -> None:
    item = await create_item(client, alice, "seen")
    url = f"{API}/items/{item['id']}"
    steps: list[tuple[str, str, dict[str, object] | None, dict[str, object]]] = [
        ("PATCH", url, {"title": "edited"}, {"title": "edited", "version": 2}),
        ("PATCH", url, {"description": "d"}, {"description": "d", "version": 3}),
        ("POST", f"{url}/move", {"column": "Done", "position": 0}, {"column": "Done"}),
        ("POST", f"{url}/archive", None, {"archived": True, "position": None}),
        ("POST", f"{url}/restore", None, {"archived": False, "position": 0}),
    ]
    for method, target, body, expected in steps:
        response = await client.request(method, target, json=body, headers=alice.auth)
        assert response.status_code == 200, response.text
        seen = (await client.get(url, headers=alice.auth)).json()
        assert {k: seen[k] for k in expected} == expected, (method, target)
        listed = await list_items(client, alice, column=str(seen["column"]))
        if not seen["archived"]:
            assert listed["data"] == [seen]
    assert (await client.delete(url, headers=alice.auth)).status_code == 204
    assert (await client.get(url, headers=alice.auth)).status_code == 404


async def test_stale_if_match_gets_409_naming_who_changed_it(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    admin = await as_admin(client)
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    # The admin changes it behind alice's back.
    await client.patch(url, json={"title": "admin's"}, headers=admin.auth)
    before = event_count(hub, item["id"])
    attempts: dict[str, tuple[str, str, dict[str, object] | None]] = {
        "patch": ("PATCH", url, {"title": "alice's"}),
        "move": ("POST", f"{url}/move", {"column": "Done", "position": 0}),
        "archive": ("POST", f"{url}/archive", None),
        "delete": ("DELETE", url, None),
    }
    for name, (method, target, body) in attempts.items():
        response = await client.request(
            method, target, json=body, headers=if_match(alice, 1)
        )
        assert response.status_code == 409, name
        conflict = response.json()
        assert conflict["current_version"] == 2, name
        assert conflict["changed_by"] == "Administrator", name
        assert "stale" in conflict["detail"], name
    assert event_count(hub, item["id"]) == before
    current = (await get_item(client, alice, item["id"])).json()
    assert (current["title"], current["archived"]) == ("admin's", False)


async def test_a_current_if_match_or_none_at_all_lets_the_change_through(
    client: httpx.AsyncClient, alice: Account
) -> None:
    admin = await as_admin(client)
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    for version, tag in enumerate(['"1"', 'W/"2"', "3", "*"], start=1):
        response = await client.patch(
            url, json={"title": f"t{version}"}, headers=if_match(alice, tag)
        )
        assert response.status_code == 200, tag
        assert response.headers["ETag"] == f'"{version + 1}"'
    # Without If-Match, the last writer wins.
    first = await client.patch(url, json={"title": "first"}, headers=admin.auth)
    second = await client.patch(url, json={"title": "second"}, headers=alice.auth)
    assert (first.status_code, second.status_code) == (200, 200)
    current = await get_item(client, alice, item["id"])
    assert current.json()["title"] == "second"
    assert current.headers["ETag"] == '"7"'


async def test_malformed_if_match_gets_422_and_changes_nothing(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    head = hub.head()
    for tag in ("abc", '"1", "2"', '""', 'W/"x"', "-1", '"1234567890"'):
        patched = await client.patch(
            url, json={"title": "x"}, headers=if_match(alice, tag)
        )
        archived = await client.post(f"{url}/archive", headers=if_match(alice, tag))
        deleted = await client.delete(url, headers=if_match(alice, tag))
        statuses = (patched.status_code, archived.status_code, deleted.status_code)
        assert statuses == (422, 422, 422), tag
    assert hub.head() == head


async def test_concurrent_patches_with_the_same_if_match_one_wins_one_conflicts(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    item = await create_item(client, alice)
    url = f"{API}/items/{item['id']}"
    for version in range(1, 4):
        before = event_count(hub, item["id"])
        responses = await asyncio.gather(
            *(
                client.patch(
                    url,
                    json={"title": f"{who}-{version}"},
                    headers=if_match(alice, version),
                )
                for who in ("left", "right")
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["current_version"] == version + 1
        assert event_count(hub, item["id"]) == before + 1
        current = await get_item(client, alice, item["id"])
        assert current.json()["title"] == winner.json()["title"]
        assert current.headers["ETag"] == f'"{version + 1}"'


async def test_timestamps_carry_a_utc_offset(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    del hub
    item = await create_item(client, alice)
    me = (await client.get(f"{API}/users/me", headers=alice.auth)).json()
    for stamp in (item["created_at"], item["updated_at"], me["created_at"]):
        parsed = dt.datetime.fromisoformat(stamp)
        assert parsed.utcoffset() == dt.timedelta(0), stamp


async def test_a_write_answers_with_the_item_as_it_is_after_that_write(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await client.post(
        f"{API}/items", json={"title": "first", "column": "Todo"}, headers=alice.auth
    )
    assert first.json()["position"] == 0
    item_id = first.json()["id"]
    # Another card goes above it: no event of its own, but its index moves.
    above = await client.post(
        f"{API}/items",
        json={"title": "above", "column": "Todo", "position": 0},
        headers=alice.auth,
    )
    assert above.json()["position"] == 0
    # An edit that changes nothing still answers the index it has now.
    unchanged = await client.patch(
        f"{API}/items/{item_id}", json={"title": "first"}, headers=alice.auth
    )
    assert unchanged.status_code == 200, unchanged.text
    assert (unchanged.json()["version"], unchanged.json()["position"]) == (1, 1)
    edited = await client.patch(
        f"{API}/items/{item_id}", json={"title": "second"}, headers=alice.auth
    )
    fetched = await client.get(f"{API}/items/{item_id}", headers=alice.auth)
    assert edited.json() == fetched.json()
    assert (edited.json()["version"], edited.json()["position"]) == (2, 1)
