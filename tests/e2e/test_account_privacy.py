"""What accounts give away: no stray usernames in the security log, no taken
e-mail addresses to standard users."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui.testing import User
from sqlalchemy import select

from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, FAST_HASHER, make_settings, register
from tests.e2e.api_helpers import (
    API,
    api_client,
    as_admin,
    login,
    new_account,
    unique_email,
)
from tests.e2e.test_board_ui import _eventually
from tests.e2e.ui_helpers import RETRIES, running_hub
from tests.e2e.ui_helpers import login as ui_login

MASKED = re.compile(r"\w\*\*\*@\w\*\*\*\.\w+ #[0-9a-f]{16}")
LIMIT = 5  # ITEMHUB_LOGIN_RATE_LIMIT in the tests: 5/minute


@pytest.fixture
def prod_hub(database_url: str) -> Iterator[Hub]:
    """A hub with a real (non-default) secret, as in production."""
    hub = Hub.open(
        make_settings(database_url, secret_key="a-real-secret-" + "k" * 32),
        hasher=FAST_HASHER,
    )
    try:
        hub.start()
        yield hub
    finally:
        hub.close()


def stored_rows(hub: Hub) -> str:
    """Every column of every security entry, as stored."""
    table = hub.store.tables.security
    with hub.store.reader.connect() as conn:
        return repr(conn.execute(select(table)).all())


async def test_failed_logins_of_unknown_usernames_are_stored_masked(
    prod_hub: Hub,
) -> None:
    hub = prod_hub
    typo = "jane.doe@examp1e.com"
    password_as_username = "Summer2026!secret"
    async with api_client(hub, client_ip="192.0.2.44") as client:
        admin = await as_admin(client)
        for username in (typo, typo.upper(), password_as_username, ADMIN_EMAIL):
            assert (await login(client, username, "wrong-password")).status_code == 401
        for _ in range(3):  # past this client address's limit: throttled too
            await login(client, typo, "wrong-password")
        response = await client.get(
            f"{API}/audit/security", params={"limit": 200}, headers=admin.auth
        )
    assert response.status_code == 200
    entries = response.json()
    emails = [e["email"] for e in entries if e["kind"] != "login_succeeded"]
    for raw in (typo, "jane.doe", "examp1e", password_as_username, "Summer2026"):
        assert raw not in response.text.lower()
        assert raw not in stored_rows(hub).lower()
    masked = {e for e in emails if e != ADMIN_EMAIL}
    typo_masked = {e for e in masked if e.startswith("j***@e***.com #")}
    # The same unknown username gives the same mark: attempts can be linked.
    assert len(typo_masked) == 1 and MASKED.fullmatch(typo_masked.pop())
    assert {e["kind"] for e in entries if e["email"].startswith("j***")} == {
        "login_failed",
        "login_throttled",
    }
    assert any(re.fullmatch(r"\*\*\* #[0-9a-f]{16}", e) for e in masked)
    # A known address is no secret to the superuser reading the log.
    assert ADMIN_EMAIL in emails


def test_the_mark_of_an_unknown_username_depends_on_the_instance_secret(
    database_url: str,
) -> None:
    marks = []
    for secret in ("first-secret-" + "x" * 32, "other-secret-" + "x" * 32):
        hub = Hub.open(
            make_settings(database_url, secret_key=secret), hasher=FAST_HASHER
        )
        try:
            hub.security.record("login_failed", channel="api", ip="::1", email="a@b.c")
            marks.append(hub.security.recent(limit=1)[0].email)
        finally:
            hub.close()
    assert marks[0] != marks[1]
    assert all(m.startswith("a***@b***.c #") for m in marks)


async def test_a_failed_ui_login_of_an_unknown_username_is_stored_masked(
    app_env: Path, user: User
) -> None:
    del app_env
    await user.open("/login")
    user.find(marker="email").type("nobody.here@example.org")
    user.find(marker="password").type("wrong-password")
    user.find(marker="login").click()
    await user.should_see("Incorrect e-mail or password", retries=RETRIES)
    hub = running_hub()
    (entry,) = hub.security.recent(kind="login_failed")
    assert entry.channel == "ui"
    assert MASKED.fullmatch(entry.email), entry.email
    assert "nobody.here" not in stored_rows(hub)


async def test_the_profile_page_does_not_say_that_an_address_is_taken(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await asyncio.to_thread(register, hub, "pat@example.com")
    await ui_login(user, "pat@example.com", "password-123")
    await user.open("/profile")
    email = user.find(marker="profile-email")
    email.clear().type(ADMIN_EMAIL)
    user.find(marker="save-profile").click()
    await user.should_see("this e-mail address cannot be used", retries=RETRIES)
    await user.should_not_see("already exists")
    # Nothing changed: Pat still logs in with the old address.
    assert await asyncio.to_thread(hub.read.credentials_by_email, "pat@example.com")


async def test_probing_addresses_with_e_mail_changes_is_throttled_per_user(
    hub: Hub,
) -> None:
    async with api_client(hub) as client:
        prober = await new_account(client, hub, prefix="prober")
        # Each from a new client address: only the account's count holds them.
        for n in range(LIMIT):
            async with api_client(hub, client_ip=f"10.6.0.{n}") as c:
                refused = await c.patch(
                    f"{API}/users/me", json={"email": ADMIN_EMAIL}, headers=prober.auth
                )
            assert refused.status_code == 409, refused.text
        async with api_client(hub, client_ip="10.6.1.1") as c:
            # Past the limit no answer tells a taken address from a free one ...
            taken, free = [
                await c.patch(
                    f"{API}/users/me", json={"email": address}, headers=prober.auth
                )
                for address in (ADMIN_EMAIL, unique_email("free"))
            ]
            by_id = await c.patch(
                f"{API}/users/{prober.id}",
                json={"email": ADMIN_EMAIL},
                headers=prober.auth,
            )
            # ... and a password change waits too: one count for both.
            password = await c.patch(
                f"{API}/users/me/password",
                json={
                    "current_password": prober.password,
                    "new_password": "next-pass-123",
                },
                headers=prober.auth,
            )
            # A name alone is no probe.
            renamed = await c.patch(
                f"{API}/users/me", json={"full_name": "Pat"}, headers=prober.auth
            )
    for response in (taken, free, by_id, password):
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["email"] == prober.email


async def test_probing_addresses_from_one_client_address_is_throttled(
    hub: Hub,
) -> None:
    async with api_client(hub, client_ip="10.6.2.1") as client:
        probers = [await new_account(client, hub) for _ in range(LIMIT + 1)]
        statuses = [
            (
                await client.patch(
                    f"{API}/users/me", json={"email": ADMIN_EMAIL}, headers=p.auth
                )
            ).status_code
            for p in probers
        ]
    assert statuses == [409] * LIMIT + [429]


async def test_probing_addresses_on_the_profile_page_is_throttled(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await asyncio.to_thread(register, hub, "pat@example.com")
    await ui_login(user, "pat@example.com", "password-123")
    await user.open("/profile")
    email = user.find(marker="profile-email")

    answers = user.notify.messages

    async def save(address: str) -> str:
        count = len(answers)
        email.clear().type(address)
        user.find(marker="save-profile").click()
        await _eventually(lambda: len(answers) > count)  # one save at a time
        return answers[-1]

    for _ in range(LIMIT):
        assert await save(ADMIN_EMAIL) == "this e-mail address cannot be used"
    assert (await save("pat.new@example.com")).startswith("Too many")
    assert await asyncio.to_thread(hub.read.credentials_by_email, "pat@example.com")
