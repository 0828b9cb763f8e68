"""Listing items and users: paging, filters, sorting and parameter checks."""

from __future__ import annotations

import httpx

from itemhub.runtime import Hub
from tests.e2e.api_helpers import (
    API,
    Account,
    as_admin,
    create_item,
    list_items,
    new_account,
    titles,
)


async def test_out_of_range_bad_or_unknown_query_parameters_get_422(
    client: httpx.AsyncClient,
) -> None:
    admin = await as_admin(client)
    bad: list[tuple[str, dict[str, str | int]]] = [
        ("items", {"limit": 0}),
        ("items", {"limit": 201}),
        ("items", {"skip": -1}),
        ("items", {"limit": "ten"}),
        ("items", {"sort": "owner"}),
        ("items", {"order": "sideways"}),
        ("items", {"owner_id": "not-a-uuid"}),
        ("items", {"archived": "perhaps"}),
        ("items", {"q": "x" * 201}),
        ("users", {"limit": 0}),
        ("users", {"limit": 201}),
        ("users", {"skip": -1}),
        ("users", {"active": "perhaps"}),
    ]
    for path, params in bad:
        response = await client.get(f"{API}/{path}", params=params, headers=admin.auth)
        assert response.status_code == 422, (path, params)
    good: list[tuple[str, dict[str, str | int]]] = [
        ("items", {"limit": 1}),
        ("items", {"limit": 200, "skip": 0}),
        ("users", {"limit": 200}),
    ]
    for path, params in good:
        response = await client.get(f"{API}/{path}", params=params, headers=admin.auth)
        assert response.status_code == 200, (path, params)
    # Unknown parameters are refused, naming them, rather than ignored.
    for path, param in (("items", "colum"), ("items", "page"), ("users", "email")):
        response = await client.get(
            f"{API}/{path}", params={param: "x"}, headers=admin.auth
        )
        assert response.status_code == 422, (path, param)
        assert param in str(response.json()["detail"])


async def test_items_page_with_limit_and_skip_and_sort_with_a_total_count(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for n in range(5):
        await create_item(client, alice, f"card {n}")
    pages = [
        await list_items(client, alice, limit=2, skip=skip) for skip in (0, 2, 4, 6)
    ]
    assert [titles(p) for p in pages] == [
        ["card 0", "card 1"],
        ["card 2", "card 3"],
        ["card 4"],
        [],
    ]
    assert {p["count"] for p in pages} == {5}
    default = await list_items(client, alice)
    assert (len(default["data"]), default["count"]) == (5, 5)
    for title in ("banana", "Cherry", "apple", "date"):
        await create_item(client, alice, title, "Backlog")
    page = await list_items(client, alice, sort="title", order="desc", limit=4)
    assert (titles(page), page["count"]) == (["date", "Cherry", "card 4", "card 3"], 9)
    page = await list_items(client, alice, sort="title", order="asc", limit=2)
    assert titles(page) == ["apple", "banana"]
    newest = await list_items(client, alice, sort="created_at", order="desc", limit=3)
    assert titles(newest) == ["date", "apple", "Cherry"]
    # The default order is the board's: column by column, top to bottom.
    board = await list_items(client, alice, limit=6)
    assert titles(board) == ["banana", "Cherry", "apple", "date", "card 0", "card 1"]


async def test_q_searches_title_and_description_ignoring_case(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_item(client, alice, "Invoice Acme", description="send by friday")
    await create_item(client, alice, "Call the bank", description="about the INVOICE")
    await create_item(client, alice, "Lunch", description="100% fun_day")
    found = await list_items(client, alice, q="invoice", sort="title")
    assert titles(found) == ["Call the bank", "Invoice Acme"]
    assert found["count"] == 2
    assert titles(await list_items(client, alice, q="FRIDAY")) == ["Invoice Acme"]
    assert titles(await list_items(client, alice, q="nothing like it")) == []
    # LIKE wildcards in the query are plain characters.
    assert titles(await list_items(client, alice, q="100%")) == ["Lunch"]
    assert titles(await list_items(client, alice, q="%")) == ["Lunch"]
    assert titles(await list_items(client, alice, q="f_n")) == []
    assert titles(await list_items(client, alice, q="n_d")) == ["Lunch"]


async def test_column_owner_and_archived_filters_combine(
    client: httpx.AsyncClient, hub: Hub, alice: Account
) -> None:
    admin = await as_admin(client)
    bob = await new_account(client, hub, prefix="bob")
    await create_item(client, alice, "alice todo")
    await create_item(client, alice, "alice done", "Done")
    shelved = await create_item(client, alice, "alice shelved", "Done")
    await create_item(client, bob, "bob todo")
    await client.post(f"{API}/items/{shelved['id']}/archive", headers=alice.auth)
    assert titles(await list_items(client, alice, column="Done")) == ["alice done"]
    assert titles(await list_items(client, alice, archived="true")) == ["alice shelved"]
    assert titles(await list_items(client, alice, column="Done", archived="true")) == [
        "alice shelved"
    ]
    assert titles(await list_items(client, alice, column="Todo", archived="true")) == []
    everyone_todo = await list_items(client, admin, column="Todo", sort="title")
    assert titles(everyone_todo) == ["alice todo", "bob todo"]
    bobs = await list_items(client, admin, owner_id=str(bob.id))
    assert (titles(bobs), bobs["count"]) == (["bob todo"], 1)
    alices = await list_items(client, admin, owner_id=str(alice.id), column="Done")
    assert titles(alices) == ["alice done"]


async def test_users_list_filters_by_text_state_and_role(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    admin = await as_admin(client)
    carol = await new_account(client, hub, prefix="carol")
    dave = await new_account(client, hub, prefix="dave", superuser=True)
    await client.post(f"{API}/users/{carol.id}/deactivate", headers=admin.auth)

    async def emails(**params: str | int) -> tuple[list[str], int]:
        response = await client.get(f"{API}/users", params=params, headers=admin.auth)
        assert response.status_code == 200, response.text
        page = response.json()
        return [u["email"] for u in page["data"]], page["count"]

    assert await emails() == ([dave.email, carol.email, "admin@example.com"], 3)
    assert await emails(q="CAROL") == ([carol.email], 1)
    assert await emails(q="administrator") == (["admin@example.com"], 1)
    assert await emails(active="false") == ([carol.email], 1)
    assert await emails(active="true") == ([dave.email, "admin@example.com"], 2)
    assert await emails(superuser="true") == ([dave.email, "admin@example.com"], 2)
    assert await emails(superuser="false") == ([carol.email], 1)
    assert await emails(superuser="true", active="true", q="dave") == (
        [dave.email],
        1,
    )
    assert await emails(limit=1, skip=1) == ([carol.email], 3)
