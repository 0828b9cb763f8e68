"""Users over HTTP: administration by superusers and one's own account."""

from __future__ import annotations

import httpx
import pytest

from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.api_helpers import (
    API,
    Account,
    as_admin,
    bearer,
    login,
    new_account,
    token_for,
    unique_email,
)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await as_admin(client)


async def me(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    response = await client.get(f"{API}/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_superuser_creates_a_user_who_can_log_in_given_valid_input(
    client: httpx.AsyncClient, hub: Hub, admin: Account
) -> None:
    email = unique_email("Erin")
    response = await client.post(
        f"{API}/users",
        json={"email": email, "password": "erins-secret-1", "full_name": " Erin "},
        headers=admin.auth,
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert {
        k: user[k] for k in ("email", "full_name", "is_superuser", "is_active")
    } == {
        "email": email.lower(),
        "full_name": "Erin",
        "is_superuser": False,
        "is_active": True,
    }
    assert not any("password" in key for key in user)
    token = await token_for(client, email, "erins-secret-1")
    assert await me(client, token) == user
    fetched = await client.get(f"{API}/users/{user['id']}", headers=admin.auth)
    assert fetched.json() == user
    # Without a valid e-mail and a long enough password, nobody is created.
    head = hub.head()
    for body in (
        {"email": "not-an-address", "password": "password-123"},
        {"email": unique_email(), "password": "short"},
        {"email": unique_email(), "password": "x" * 129},
        {"email": unique_email()},
        {"password": "password-123"},
    ):
        response = await client.post(f"{API}/users", json=body, headers=admin.auth)
        assert response.status_code == 422, body
    assert hub.head() == head


async def test_an_email_taken_in_any_case_gets_409_and_changes_nothing(
    client: httpx.AsyncClient, hub: Hub, admin: Account
) -> None:
    email = unique_email("frank")
    first = await client.post(
        f"{API}/users",
        json={"email": email, "password": "password-123"},
        headers=admin.auth,
    )
    assert first.status_code == 201
    user = await new_account(client, hub)
    head = hub.head()
    # Superusers may learn that an address is taken; a standard user may not.
    attempts: list[tuple[str, str, dict[str, object], Account, str]] = [
        (
            "POST",
            "/users",
            {"email": email.upper(), "password": "password-123"},
            admin,
            "already exists",
        ),
        ("PATCH", f"/users/{user.id}", {"email": email.title()}, admin, "exists"),
        ("PATCH", "/users/me", {"email": ADMIN_EMAIL.upper()}, user, "cannot be"),
    ]
    for method, path, body, actor, detail in attempts:
        response = await client.request(
            method, f"{API}{path}", json=body, headers=actor.auth
        )
        assert response.status_code == 409, response.text
        assert detail in response.json()["detail"]
    assert hub.head() == head
    assert (await me(client, user.token))["email"] == user.email


async def test_a_user_cannot_tell_a_taken_address_from_one_someone_gave_up(
    client: httpx.AsyncClient, hub: Hub, admin: Account
) -> None:
    holder = await new_account(client, hub, prefix="holder")
    leaver = await new_account(client, hub, prefix="leaver")
    moved = await client.patch(
        f"{API}/users/me", json={"email": unique_email("moved")}, headers=leaver.auth
    )
    assert moved.status_code == 200, moved.text
    prober = await new_account(client, hub, prefix="prober")
    head = hub.head()
    taken, given_up = [
        await client.patch(
            f"{API}/users/me", json={"email": address}, headers=prober.auth
        )
        for address in (holder.email, leaver.email)
    ]
    assert taken.status_code == given_up.status_code == 409
    assert (
        taken.json()
        == given_up.json()
        == {"detail": "this e-mail address cannot be used"}
    )
    assert hub.head() == head
    assert (await me(client, prober.token))["email"] == prober.email
    # The one who gave an address up may take it back; a superuser may give it
    # to anyone, and hears plainly when an address is taken.
    back = await client.patch(
        f"{API}/users/me", json={"email": leaver.email}, headers=leaver.auth
    )
    assert back.status_code == 200, back.text
    plain = await client.patch(
        f"{API}/users/{prober.id}", json={"email": holder.email}, headers=admin.auth
    )
    assert plain.status_code == 409
    assert plain.json()["detail"] == f"a user with e-mail {holder.email} already exists"


async def test_a_user_reads_and_changes_their_own_profile(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub, prefix="gina")
    profile = await me(client, user.token)
    assert (profile["id"], profile["email"], profile["is_superuser"]) == (
        str(user.id),
        user.email,
        False,
    )
    new_email = unique_email("gina.new")
    response = await client.patch(
        f"{API}/users/me",
        json={"full_name": "Gina G.", "email": new_email},
        headers=user.auth,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["full_name"], changed["email"]) == ("Gina G.", new_email)
    assert changed["version"] > profile["version"]
    assert await me(client, user.token) == changed  # the token still works
    assert (await login(client, user.email, user.password)).status_code == 401
    await token_for(client, new_email, user.password)
    # The old address is free again.
    reuse = await client.post(
        f"{API}/users",
        json={"email": user.email, "password": "password-123"},
        headers=(await as_admin(client)).auth,
    )
    assert reuse.status_code == 201


async def test_a_superuser_changes_another_users_name_role_state_and_password(
    client: httpx.AsyncClient, hub: Hub, admin: Account
) -> None:
    user = await new_account(client, hub, prefix="hank")
    url = f"{API}/users/{user.id}"

    async def patch(body: dict[str, object]) -> dict[str, object]:
        response = await client.patch(url, json=body, headers=admin.auth)
        assert response.status_code == 200, response.text
        changed: dict[str, object] = response.json()
        fetched = await client.get(url, headers=admin.auth)
        assert fetched.json() == changed  # read-your-writes
        return changed

    assert (await patch({"full_name": "Hank H."}))["full_name"] == "Hank H."
    assert (await patch({"is_superuser": True}))["is_superuser"] is True
    # A new role needs a new token: the old one ends with the change.
    old = await client.get(f"{API}/users/me", headers=user.auth)
    assert old.status_code == 401
    token = await token_for(client, user.email, user.password)
    assert (await client.get(f"{API}/users", headers=bearer(token))).status_code == 200
    assert (await patch({"is_superuser": False}))["is_superuser"] is False
    assert (await patch({"is_active": False}))["is_active"] is False
    assert (await login(client, user.email, user.password)).status_code == 403
    assert (await patch({"is_active": True}))["is_active"] is True
    await patch({"password": "hanks-new-pass-1"})
    assert (await login(client, user.email, user.password)).status_code == 401
    token = await token_for(client, user.email, "hanks-new-pass-1")
    assert (await me(client, token))["full_name"] == "Hank H."


async def test_a_standard_user_cannot_make_themselves_superuser(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    head = hub.head()
    forbidden_fields = [
        {"is_superuser": True},
        {"is_active": False},
        {"password": "new-password-1"},
    ]
    for body in forbidden_fields:
        via_me = await client.patch(f"{API}/users/me", json=body, headers=user.auth)
        assert via_me.status_code == 422, body
        assert via_me.json()["detail"][0]["type"] == "extra_forbidden"
        via_id = await client.patch(
            f"{API}/users/{user.id}", json=body, headers=user.auth
        )
        assert via_id.status_code in (403, 422), body
    role = await client.patch(
        f"{API}/users/{user.id}", json={"is_superuser": True}, headers=user.auth
    )
    assert role.status_code == 403
    assert hub.head() == head
    profile = await me(client, user.token)
    assert (profile["is_superuser"], profile["is_active"]) == (False, True)
    # What a user may change by id is their own profile.
    own = await client.patch(
        f"{API}/users/{user.id}", json={"full_name": "Own Name"}, headers=user.auth
    )
    assert own.status_code == 200
    assert own.json()["full_name"] == "Own Name"


async def test_a_password_change_needs_the_right_current_password(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    url = f"{API}/users/me/password"
    head = hub.head()
    refused = [
        (
            {"current_password": "wrong-password", "new_password": "next-pass-1"},
            "current_password",
        ),
        (
            {"current_password": user.password, "new_password": user.password},
            "new_password",
        ),
        ({"current_password": user.password, "new_password": "short"}, "new_password"),
        ({"current_password": "", "new_password": "next-pass-1"}, "current_password"),
    ]
    for body, field in refused:
        response = await client.patch(url, json=body, headers=user.auth)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == ["body", field], body
    assert hub.head() == head
    await me(client, user.token)  # nothing changed: the token still works
    changed = await client.patch(
        url,
        json={"current_password": user.password, "new_password": "next-pass-1"},
        headers=user.auth,
    )
    assert changed.status_code == 200
    assert "detail" in changed.json()
    assert (await login(client, user.email, user.password)).status_code == 401
    await token_for(client, user.email, "next-pass-1")


async def test_the_last_active_superuser_cannot_be_deactivated_or_demoted(
    client: httpx.AsyncClient, hub: Hub, admin: Account
) -> None:
    head = hub.head()
    attempts: list[tuple[str, str, dict[str, object] | None]] = [
        ("POST", f"/users/{admin.id}/deactivate", None),
        ("PATCH", f"/users/{admin.id}", {"is_superuser": False}),
        ("PATCH", f"/users/{admin.id}", {"is_active": False}),
    ]
    for method, path, body in attempts:
        response = await client.request(
            method, f"{API}{path}", json=body, headers=admin.auth
        )
        assert response.status_code == 403, response.text
        assert "last active superuser" in response.json()["detail"]
    assert hub.head() == head
    profile = await me(client, admin.token)  # the token still works
    assert (profile["is_superuser"], profile["is_active"]) == (True, True)
    # With a second superuser, one may step down; then the other is the last.
    deputy = await new_account(client, hub, prefix="deputy", superuser=True)
    demoted = await client.patch(
        f"{API}/users/{admin.id}", json={"is_superuser": False}, headers=deputy.auth
    )
    assert demoted.status_code == 200
    assert demoted.json()["is_superuser"] is False
    head = hub.head()
    last = await client.post(f"{API}/users/{deputy.id}/deactivate", headers=deputy.auth)
    assert last.status_code == 403
    assert hub.head() == head
    token = await token_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert (await client.get(f"{API}/users", headers=bearer(token))).status_code == 403
