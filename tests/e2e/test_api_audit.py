"""The audit API over HTTP: trail, export, time travel, history, security log.

Every test runs on SQLite and on PostgreSQL (the ``hub`` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from itemhub.api import create_api
from itemhub.api.schemas import ItemPublic
from itemhub.projections import ItemCard
from itemhub.queries.audit import AuditFilter
from itemhub.runtime import Hub
from tests.conftest import ADMIN_PASSWORD, FAST_HASHER, make_settings
from tests.e2e.api_helpers import (
    API,
    PASSWORD,
    Account,
    api_client,
    as_admin,
    create_item,
    login,
    new_account,
    token_for,
)

AUDIT = f"{API}/audit"
EXPORT_HEADER = [
    "position",
    "occurred_at",
    "actor_id",
    "actor_name",
    "channel",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "summary",
    "details",
    "owner_id",
    "version",
    "correlation_id",
    "command_id",
]
Json = dict[str, Any]


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await as_admin(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient, hub: Hub) -> Account:
    return await new_account(client, hub, prefix="bob")


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


async def send(
    client: httpx.AsyncClient,
    account: Account,
    method: str,
    path: str,
    body: Json | None = None,
) -> Json:
    """A change through the API that must succeed; returns the item JSON."""
    response = await client.request(
        method, f"{API}{path}", json=body, headers=account.auth
    )
    result: Json = await ok(response)
    return result


async def some_history(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> dict[str, str]:
    """A small trail by three actors; returns the ids of the items made."""
    a = await create_item(client, alice, "Quarterly report", description="draft")
    b = await create_item(client, bob, "Fix the 50% bug", column="Doing")
    c = await create_item(client, admin, "Plan offsite", owner_id=str(alice.id))
    await send(client, alice, "PATCH", f"/items/{a['id']}", {"title": "Q3 report"})
    await send(
        client, bob, "POST", f"/items/{b['id']}/move", {"column": "Done", "position": 3}
    )
    await send(client, alice, "POST", f"/items/{c['id']}/archive")
    await send(client, admin, "PATCH", f"/items/{b['id']}", {"description": "done"})
    await send(client, alice, "POST", f"/items/{c['id']}/restore")
    await send(
        client,
        alice,
        "POST",
        f"/items/{a['id']}/move",
        {"column": "Done", "position": 0},
    )
    await send(client, bob, "PATCH", f"/items/{b['id']}", {"title": "Fixed report bug"})
    response = await client.delete(f"{API}/items/{b['id']}", headers=bob.auth)
    assert response.status_code == 204, response.text
    return {"a": a["id"], "b": b["id"], "c": c["id"]}


# --- list, paging and export -----------------------------------------------------


async def all_pages(
    client: httpx.AsyncClient, admin: Account, params: dict[str, str], limit: int
) -> list[Json]:
    """Every entry of a filter, newest first, following ``next_before``."""
    entries: list[Json] = []
    before: int | None = None
    count: int | None = None
    for _ in range(1000):
        query = params | {"limit": str(limit)}
        if before is not None:
            query["before"] = str(before)
        page: Json = await ok(
            await client.get(f"{AUDIT}/events", params=query, headers=admin.auth)
        )
        assert len(page["data"]) <= limit
        assert page["data"] or not entries, "a cursor led to an empty page"
        assert count in (None, page["count"]), "the count changed while paging"
        count = page["count"]
        entries += page["data"]
        before = page["next_before"]
        if before is None:
            assert len(entries) == count
            return entries
        assert len(page["data"]) == limit
        assert before == page["data"][-1]["position"]
    raise AssertionError("paging did not end")


def csv_row(entry: Json) -> list[str]:
    """How the CSV export writes one entry of the JSON list."""
    row = []
    for field in EXPORT_HEADER:
        value = entry[field]
        if field == "details":
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        row.append(str(value))
    return row


async def test_exports_equal_the_paged_list_for_every_filter(
    client: httpx.AsyncClient, hub: Hub, admin: Account, alice: Account, bob: Account
) -> None:
    ids = await some_history(client, admin, alice, bob)
    everything = await all_pages(client, admin, {}, 200)
    moments = sorted(e["occurred_at"] for e in everything)
    filters: list[dict[str, str]] = [
        {},
        {"actor": str(alice.id)},
        {"action": "item.edited"},
        {"item": ids["b"]},
        {"user": str(bob.id)},
        {"q": "REPORT"},
        {"q": "50%"},
        {"since": moments[5], "until": moments[-4]},
        {"actor": str(bob.id), "action": "item.created"},
        {"correlation": everything[3]["correlation_id"]},
        {"actor": str(uuid4())},
    ]
    for params in filters:
        listed = await all_pages(client, admin, params, 4)
        positions = [e["position"] for e in listed]
        assert positions == sorted(set(positions), reverse=True), params
        # The API answers what the audit log answers for the same filter.
        assert [e["position"] for e in everything if e in listed] == positions

        response = await client.get(
            f"{AUDIT}/export", params=params | {"format": "json"}, headers=admin.auth
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert "attachment" in response.headers["content-disposition"]
        assert response.json() == listed[::-1], params

        response = await client.get(
            f"{AUDIT}/export", params=params | {"format": "csv"}, headers=admin.auth
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert ".csv" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == EXPORT_HEADER
        assert rows[1:] == [csv_row(e) for e in listed[::-1]], params
        # CSV is the default format.
        default = await client.get(f"{AUDIT}/export", params=params, headers=admin.auth)
        assert default.text == response.text

    # Paging without a filter visits every entry of the trail, once.
    trail = hub.read.activity(limit=10_000)
    assert [e["position"] for e in everything] == [e.position for e in trail]
    for limit in (1, 3, 7):
        assert await all_pages(client, admin, {}, limit) == everything
    assert (await all_pages(client, admin, {"actor": str(uuid4())}, 5)) == []


FORMULAS = ('=HYPERLINK("http://evil.example","open")', "+1", "-1", "@SUM(1)")
"""Text a spreadsheet would run as a formula if a CSV cell started with it."""


async def test_csv_export_neutralises_formulas_in_every_text_cell(
    client: httpx.AsyncClient, admin: Account
) -> None:
    for formula in FORMULAS:
        await create_item(client, admin, formula, description=formula)
    # A user whose name and e-mail are formulas, acting: the name is a label
    # (registration) and an actor name (their item).
    email, name = "=1+1@example.com", "-2+3"
    response = await client.post(
        f"{API}/users",
        json={"email": email, "password": PASSWORD, "full_name": name},
        headers=admin.auth,
    )
    assert response.status_code == 201, response.text
    token = await token_for(client, email, PASSWORD)
    await create_item(client, Account(uuid4(), email, PASSWORD, token), "plain")
    exported = await client.get(
        f"{AUDIT}/export", params={"format": "json"}, headers=admin.auth
    )
    entries = exported.json()
    # JSON keeps the text as it is.
    assert {e["target_label"] for e in entries} >= {*FORMULAS, name}
    assert name in {e["actor_name"] for e in entries}

    as_csv = await client.get(
        f"{AUDIT}/export", params={"format": "csv"}, headers=admin.auth
    )
    rows = list(csv.reader(io.StringIO(as_csv.text)))[1:]
    assert len(rows) == len(entries)
    for row, entry in zip(rows, entries, strict=True):
        for field, cell in zip(EXPORT_HEADER, row, strict=True):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (field, cell)
            expected = csv_row(entry)[EXPORT_HEADER.index(field)]
            # A quote in front, nothing else changed.
            assert cell in (expected, f"'{expected}"), (field, cell)
    labels = {row[EXPORT_HEADER.index("target_label")] for row in rows}
    assert labels >= {f"'{formula}" for formula in (*FORMULAS, name)}
    assert f"'{name}" in {row[EXPORT_HEADER.index("actor_name")] for row in rows}


async def test_every_filter_narrows_the_list_as_the_audit_log_does(
    client: httpx.AsyncClient, hub: Hub, admin: Account, alice: Account, bob: Account
) -> None:
    ids = await some_history(client, admin, alice, bob)
    everything = await all_pages(client, admin, {}, 200)
    moment = everything[len(everything) // 2]["occurred_at"]
    cases: list[tuple[dict[str, str], AuditFilter]] = [
        ({"actor": str(bob.id)}, AuditFilter(actor_id=bob.id)),
        ({"action": "item.moved"}, AuditFilter(action="item.moved")),
        ({"item": ids["a"]}, AuditFilter(item_id=UUID(ids["a"]))),
        ({"user": str(alice.id)}, AuditFilter(user_id=alice.id)),
        ({"since": moment}, AuditFilter(since=dt.datetime.fromisoformat(moment))),
        ({"until": moment}, AuditFilter(until=dt.datetime.fromisoformat(moment))),
        ({"q": "offsite"}, AuditFilter(text="offsite")),
        (
            {"correlation": everything[0]["correlation_id"]},
            AuditFilter(correlation_id=UUID(everything[0]["correlation_id"])),
        ),
    ]
    for params, f in cases:
        page: Json = await ok(
            await client.get(
                f"{AUDIT}/events", params=params | {"limit": "200"}, headers=admin.auth
            )
        )
        expected = hub.audit.count(f)
        assert 0 < expected < len(everything), params
        assert page["count"] == len(page["data"]) == expected, params


# --- who may see the trail ---------------------------------------------------------


AUDIT_PATHS = {
    f"{AUDIT}/events": {},
    f"{AUDIT}/export": {},
    f"{AUDIT}/stats": {},
    f"{AUDIT}/board": {"position": "0"},
    f"{AUDIT}/security": {},
    f"{AUDIT}/chain": {},
}


def audit_routes(hub: Hub) -> set[str]:
    """Every audit path the API documents."""
    paths: dict[str, Any] = create_api(hub).openapi()["paths"]
    return {path for path in paths if path.startswith(f"{AUDIT}/")}


async def test_standard_users_get_403_on_every_audit_endpoint(
    client: httpx.AsyncClient, hub: Hub, admin: Account, alice: Account
) -> None:
    # A new audit endpoint must be added here (and so checked) too.
    assert audit_routes(hub) == set(AUDIT_PATHS)
    await create_item(client, alice, "mine")
    for path, params in AUDIT_PATHS.items():
        for query in ({}, params):
            denied = await client.get(path, params=query, headers=alice.auth)
            assert denied.status_code == 403, (path, query, denied.text)
        anonymous = await client.get(path, params=params)
        assert anonymous.status_code == 401, path
        allowed = await client.get(path, params=params, headers=admin.auth)
        assert allowed.status_code == 200, (path, allowed.text)
    # Each denial is in the security log.
    denials = hub.security.recent(kind="access_denied", limit=200)
    for path in AUDIT_PATHS:
        assert any(path in d.detail for d in denials), path


async def test_unknown_filters_and_impossible_ranges_are_422(
    client: httpx.AsyncClient, admin: Account, alice: Account
) -> None:
    await create_item(client, alice, "something to list")
    early, late = "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"
    bad_queries: list[dict[str, str]] = [
        {"bogus": "1"},
        {"actor_id": str(alice.id)},  # the field's name, not the filter's
        {"item_id": str(uuid4())},
        {"text": "report"},
        {"since": late, "until": early},
        {"since": "yesterday"},
        {"actor": "alice"},
        {"action": "Item Created"},
        {"q": "x" * 201},
    ]
    for path, extra in (
        ("events", {"limit": "0"}),
        ("export", {"format": "xml"}),
        ("stats", {"bucket": "week"}),
    ):
        for query in [*bad_queries, extra]:
            response = await client.get(
                f"{AUDIT}/{path}", params=query, headers=admin.auth
            )
            assert response.status_code == 422, (path, query, response.text)
        # An empty range is fine (and empty).
        same: Json | list[Any] = await ok(
            await client.get(
                f"{AUDIT}/{path}",
                params={"since": late, "until": late, "format": "json"}
                if path == "export"
                else {"since": late, "until": late},
                headers=admin.auth,
            )
        )
        assert (same["data"] if isinstance(same, dict) else same) == []

    for query in (
        {},
        {"position": "1", "at": early},
        {"position": "-1"},
        {"position": "one"},
        {"at": "soon"},
        {"position": "1", "q": "x"},
    ):
        response = await client.get(f"{AUDIT}/board", params=query, headers=admin.auth)
        assert response.status_code == 422, (query, response.text)
    for query in ({"kind": "login"}, {"user": str(alice.id)}, {"limit": "201"}):
        response = await client.get(
            f"{AUDIT}/security", params=query, headers=admin.auth
        )
        assert response.status_code == 422, (query, response.text)


async def test_a_naive_and_an_aware_bound_are_not_a_server_error(
    client: httpx.AsyncClient, admin: Account, alice: Account
) -> None:
    await create_item(client, alice, "something to list")
    aware = await client.get(
        f"{AUDIT}/events",
        params={"since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
        headers=admin.auth,
    )
    mixed = await client.get(
        f"{AUDIT}/events",
        params={"since": "2020-01-01T00:00:00", "until": "2100-01-01T00:00:00Z"},
        headers=admin.auth,
    )
    assert mixed.status_code == 200, mixed.text
    assert mixed.json() == aware.json()


# --- time travel -------------------------------------------------------------------


def board_json(board: dict[str, list[ItemCard]]) -> dict[str, list[Json]]:
    return {
        column: [
            ItemPublic.model_validate(card).model_dump(mode="json") for card in cards
        ]
        for column, cards in board.items()
    }


async def test_board_at_a_position_equals_the_live_board_right_after_it(
    client: httpx.AsyncClient, hub: Hub, admin: Account, alice: Account, bob: Account
) -> None:
    live: dict[int, dict[str, list[Json]]] = {}

    def capture() -> None:
        # Commands answer only once every read model has their event.
        live[hub.head()] = board_json(hub.read.board())

    a = await create_item(client, alice, "A")
    capture()
    b = await create_item(client, bob, "B", column="Doing", position=0)
    capture()
    c = await create_item(client, alice, "C", position=0)
    capture()
    await send(
        client,
        alice,
        "POST",
        f"/items/{a['id']}/move",
        {"column": "Doing", "position": 1},
    )
    capture()
    await send(client, bob, "PATCH", f"/items/{b['id']}", {"title": "B2"})
    capture()
    await send(client, alice, "POST", f"/items/{c['id']}/archive")
    capture()
    await send(client, admin, "PATCH", f"/items/{a['id']}", {"owner_id": str(bob.id)})
    capture()
    await send(client, admin, "POST", f"/items/{a['id']}/history/1/restore")
    capture()
    await send(client, alice, "POST", f"/items/{c['id']}/restore")
    capture()
    response = await client.delete(f"{API}/items/{b['id']}", headers=bob.auth)
    assert response.status_code == 204
    capture()

    entries = {e.position: e for e in hub.read.activity(limit=10_000)}
    for n, expected in live.items():
        past: Json = await ok(
            await client.get(
                f"{AUDIT}/board", params={"position": n}, headers=admin.auth
            )
        )
        assert past == {"position": n, "columns": expected}, n
        # The moment of that event shows the same board.
        at = entries[n].occurred_at.isoformat()
        then: Json = await ok(
            await client.get(f"{AUDIT}/board", params={"at": at}, headers=admin.auth)
        )
        assert then == past, at

    first = min(entries.values(), key=lambda e: e.position).occurred_at
    before_anything: Json = await ok(
        await client.get(
            f"{AUDIT}/board",
            params={"at": (first - dt.timedelta(seconds=1)).isoformat()},
            headers=admin.auth,
        )
    )
    assert before_anything == {
        "position": 0,
        "columns": {c: [] for c in hub.settings.board_columns},
    }
    zero: Json = await ok(
        await client.get(f"{AUDIT}/board", params={"position": 0}, headers=admin.auth)
    )
    assert zero == before_anything


# --- item history and restoring a version -------------------------------------------


async def history(
    client: httpx.AsyncClient, account: Account, item_id: object
) -> list[Json]:
    page: Json = await ok(
        await client.get(f"{API}/items/{item_id}/history", headers=account.auth)
    )
    versions: list[Json] = page["data"]
    return versions


async def test_restoring_a_version_appends_a_compensating_event(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    item = await create_item(client, alice, "First", description="one")
    item_id = item["id"]
    await send(client, alice, "PATCH", f"/items/{item_id}", {"title": "Second"})
    await send(
        client,
        alice,
        "POST",
        f"/items/{item_id}/move",
        {"column": "Doing", "position": 0},
    )
    await send(
        client,
        alice,
        "PATCH",
        f"/items/{item_id}",
        {"title": "Third", "description": "three"},
    )
    before = await history(client, alice, item_id)
    assert [v["version"] for v in before] == [1, 2, 3, 4]
    assert [v["action"] for v in before] == [
        "item.created",
        "item.edited",
        "item.moved",
        "item.edited",
    ]
    second = before[1]
    assert (second["title"], second["description"], second["column"]) == (
        "Second",
        "one",
        "Todo",
    )

    # A stale If-Match is refused and appends nothing.
    stale = await client.post(
        f"{API}/items/{item_id}/history/2/restore",
        headers=alice.auth | {"If-Match": '"3"'},
    )
    assert stale.status_code == 409, stale.text
    response = await client.post(
        f"{API}/items/{item_id}/history/2/restore",
        headers=alice.auth | {"If-Match": '"4"'},
    )
    restored: Json = await ok(response)
    assert response.headers["ETag"] == '"5"'
    assert (restored["title"], restored["description"], restored["column"]) == (
        "Second",
        "one",
        "Todo",
    )
    assert restored["version"] == 5

    after = await history(client, alice, item_id)
    assert after[:4] == before, "an earlier version changed"
    last = after[4]
    assert (last["version"], last["action"]) == (5, "item.reverted")
    assert (last["title"], last["description"], last["column"]) == (
        "Second",
        "one",
        "Todo",
    )
    assert last["actor_id"] == str(alice.id)
    fields = ("title", "description", "column", "position", "owner_id", "archived")
    changed = {
        f: (before[3][f], second[f]) for f in fields if before[3][f] != second[f]
    }
    assert {c["field"]: (c["before"], c["after"]) for c in last["changes"]} == changed
    assert {"title", "description", "column"} <= set(changed)
    # The board shows it, and the trail has the compensating event.
    current: Json = await ok(
        await client.get(f"{API}/items/{item_id}", headers=alice.auth)
    )
    assert (current["title"], current["column"], current["version"]) == (
        "Second",
        "Todo",
        5,
    )
    trail: Json = await ok(
        await client.get(
            f"{AUDIT}/events", params={"item": item_id}, headers=admin.auth
        )
    )
    assert trail["data"][0]["action"] == "item.reverted"
    assert trail["data"][0]["details"]["to_version"] == 2
    assert trail["count"] == 5

    # ?version=N and ?at= read the item as it was.
    for version in after:
        then: Json = await ok(
            await client.get(
                f"{API}/items/{item_id}",
                params={"version": version["version"]},
                headers=alice.auth,
            )
        )
        assert then == version
        at: Json = await ok(
            await client.get(
                f"{API}/items/{item_id}",
                params={"at": version["timestamp"]},
                headers=alice.auth,
            )
        )
        assert at == version
    created = dt.datetime.fromisoformat(after[0]["timestamp"])
    too_early = await client.get(
        f"{API}/items/{item_id}",
        params={"at": (created - dt.timedelta(seconds=1)).isoformat()},
        headers=alice.auth,
    )
    assert too_early.status_code == 404
    assert (
        await client.get(
            f"{API}/items/{item_id}", params={"version": 6}, headers=alice.auth
        )
    ).status_code == 404
    assert (
        await client.get(
            f"{API}/items/{item_id}", params={"version": 0}, headers=alice.auth
        )
    ).status_code == 422

    # Restoring the current version or one that never was: 422, nothing appended.
    for wrong in (5, 9, 0):
        refused = await client.post(
            f"{API}/items/{item_id}/history/{wrong}/restore", headers=alice.auth
        )
        assert refused.status_code == 422, (wrong, refused.text)
    # Restoring the original appends once more; history keeps growing.
    await send(client, alice, "POST", f"/items/{item_id}/history/1/restore")
    final = await history(client, alice, item_id)
    assert final[:5] == after and final[5]["title"] == "First"
    assert final[5]["column"] == "Todo"

    # Someone else's item: 404 everywhere for a standard user; superusers see it.
    for path, params in (
        (f"/items/{item_id}/history", {}),
        (f"/items/{item_id}", {"version": "1"}),
        (f"/items/{item_id}", {"at": after[2]["timestamp"]}),
    ):
        denied = await client.get(f"{API}{path}", params=params, headers=bob.auth)
        assert denied.status_code == 404, (path, params, denied.text)
        assert str(item_id) in denied.json()["detail"]
        seen = await client.get(f"{API}{path}", params=params, headers=admin.auth)
        assert seen.status_code == 200, (path, params)
    denied = await client.post(
        f"{API}/items/{item_id}/history/1/restore", headers=bob.auth
    )
    assert denied.status_code == 404
    for unknown_id in (uuid4(), alice.id):  # nothing, and a user (not an item)
        unknown = await client.get(
            f"{API}/items/{unknown_id}/history", headers=admin.auth
        )
        assert unknown.status_code == 404
    assert len(await history(client, alice, item_id)) == 6


async def test_restoring_a_version_never_hands_the_item_to_a_deactivated_user(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    item = await create_item(client, alice, "Handover")
    url = f"{API}/items/{item['id']}"
    await send(
        client, admin, "PATCH", f"/items/{item['id']}", {"owner_id": str(bob.id)}
    )
    await send(client, admin, "POST", f"/users/{alice.id}/deactivate")
    # Giving it back by hand is refused ...
    refused = await client.patch(
        url, json={"owner_id": str(alice.id)}, headers=admin.auth
    )
    assert refused.status_code == 422, refused.text
    # ... so restoring the version she owned must not do it either.
    response = await client.post(f"{url}/history/1/restore", headers=admin.auth)
    assert response.status_code in (200, 422), response.text
    current: Json = await ok(await client.get(url, headers=admin.auth))
    assert current["owner_id"] == str(bob.id)


# --- the security log ----------------------------------------------------------------

AGENT = "itemhub-audit-tests/1.0 (+probe)"


@pytest.fixture
def strict_hub(database_url: str) -> Iterator[Hub]:
    """A hub throttling logins after three failures a minute."""
    runtime = Hub.open(
        make_settings(database_url, login_rate_limit="3/minute"), hasher=FAST_HASHER
    )
    try:
        runtime.start()
        yield runtime
    finally:
        runtime.close()


async def test_security_log_records_logins_throttling_denials_and_logouts(
    strict_hub: Hub,
) -> None:
    hub = strict_hub
    wrong = "not-the-password-42"
    renewed = "renewed-password-77"
    guesses = [f"guess-{n}-secret" for n in range(4)]
    async with (
        api_client(hub, client_ip="203.0.113.7") as client,
        api_client(hub, client_ip="198.51.100.23") as attacker,
    ):
        client.headers["User-Agent"] = AGENT
        attacker.headers["User-Agent"] = AGENT
        admin = await as_admin(client)
        alice = await new_account(client, hub, prefix="alice")
        failed = await login(client, alice.email, wrong)
        assert failed.status_code == 401
        statuses = [
            (await login(attacker, "mallory@example.com", g)).status_code
            for g in guesses
        ]
        assert statuses == [401, 401, 401, 429]
        denied = await client.get(f"{API}/users", headers=alice.auth)
        assert denied.status_code == 403
        logout = await client.post(f"{API}/logout", headers=alice.auth)
        assert logout.status_code == 204
        assert (
            await client.get(f"{API}/users/me", headers=alice.auth)
        ).status_code == (401)
        # A password change ends the sessions too (and is in the audit trail).
        again = await ok(await login(client, alice.email, PASSWORD))
        changed = await client.patch(
            f"{API}/users/me/password",
            json={"current_password": PASSWORD, "new_password": renewed},
            headers={"Authorization": f"Bearer {again['access_token']}"},
        )
        assert changed.status_code == 200, changed.text
        trail = await client.get(
            f"{AUDIT}/export", params={"format": "json"}, headers=admin.auth
        )
        assert trail.status_code == 200
        assert "user.password_changed" in {e["action"] for e in trail.json()}
        response = await client.get(
            f"{AUDIT}/security", params={"limit": 200}, headers=admin.auth
        )
        entries: list[Json] = await ok(response)
        ids = [e["id"] for e in entries]
        only_failed: list[Json] = await ok(
            await client.get(
                f"{AUDIT}/security", params={"kind": "login_failed"}, headers=admin.auth
            )
        )
        older: list[Json] = await ok(
            await client.get(
                f"{AUDIT}/security",
                params={"before": ids[1], "limit": 2},
                headers=admin.auth,
            )
        )

    assert ids == sorted(ids, reverse=True)

    def find(kind: str, **fields: object) -> Json:
        found = [
            e
            for e in entries
            if e["kind"] == kind and all(e[k] == v for k, v in fields.items())
        ]
        assert found, (kind, fields, entries)
        return found[0]

    home = {"ip": "203.0.113.7", "user_agent": AGENT, "channel": "api"}
    away = {"ip": "198.51.100.23", "user_agent": AGENT, "channel": "api"}
    find("login_succeeded", email=alice.email, user_id=str(alice.id), **home)
    find("login_succeeded", user_id=str(admin.id), **home)
    find("login_failed", email=alice.email, **home)
    assert len([e for e in entries if e["kind"] == "login_failed"]) == 4
    # Mallory has no account: her "username" is stored masked, but linkable.
    mallory = find("login_failed", **away)["email"]
    assert mallory.startswith("m***@e***.com #")
    find("login_throttled", email=mallory, **away)
    denial = find("access_denied", **home)
    assert f"GET {API}/users" in denial["detail"]
    revoked = [
        e["detail"]
        for e in entries
        if e["kind"] == "token_revoked" and e["user_id"] == str(alice.id)
    ]
    assert sorted(revoked) == ["logged out everywhere", "password changed"]
    for entry in entries:
        if entry["kind"] == "token_revoked":
            assert {k: entry[k] for k in home} == home

    assert {e["kind"] for e in only_failed} == {"login_failed"}
    assert len(only_failed) == 4
    assert [e["id"] for e in older] == ids[2:4]

    secrets = [
        PASSWORD,
        ADMIN_PASSWORD,
        wrong,
        renewed,
        "$argon2",
        *guesses,
        again["access_token"],
        admin.token,
        alice.token,
        admin.token.rsplit(".", 1)[-1],
        alice.token.rsplit(".", 1)[-1],
    ]
    stored = repr(hub.security.recent(limit=1000))
    for secret in secrets:
        assert secret not in response.text
        assert secret not in stored
        assert secret not in trail.text


async def test_a_former_owner_sees_nothing_of_an_item_reassigned_away(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    item = await create_item(client, alice, "Alice's secret")
    await send(client, alice, "PATCH", f"/items/{item['id']}", {"title": "Renamed"})
    moment = (
        await ok(await client.get(f"{API}/items/{item['id']}", headers=alice.auth))
    )["updated_at"]
    await send(
        client, admin, "PATCH", f"/items/{item['id']}", {"owner_id": str(bob.id)}
    )
    # Neither the item's past nor the board's past: time travel is for superusers.
    for path, params in (
        (f"/items/{item['id']}/history", {}),
        (f"/items/{item['id']}", {"version": "1"}),
        (f"/items/{item['id']}", {"at": moment}),
    ):
        denied = await client.get(f"{API}{path}", params=params, headers=alice.auth)
        assert denied.status_code == 404, (path, params, denied.text)
    for params in ({"position": "1"}, {"at": moment}):
        denied = await client.get(f"{AUDIT}/board", params=params, headers=alice.auth)
        assert denied.status_code == 403, (params, denied.text)
    # The new owner sees the item's history, the one before it was theirs too.
    history = await ok(
        await client.get(f"{API}/items/{item['id']}/history", headers=bob.auth)
    )
    assert [v["title"] for v in history["data"]][:2] == ["Alice's secret", "Renamed"]
