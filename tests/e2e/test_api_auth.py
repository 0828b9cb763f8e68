"""Logging in, throttling, and every way a bearer token can be refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from uuid import uuid4

import httpx
from pwdlib import PasswordHash
from sqlalchemy import update

from itemhub.api import create_api
from itemhub.api.tokens import TokenService
from itemhub.auth import SESSION_CACHE_TTL, SessionCache
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub, users_stamp
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, FAST_HASHER
from tests.e2e.api_helpers import (
    API,
    Account,
    api_client,
    as_admin,
    bearer,
    claims_for,
    create_item,
    hs512_token,
    hub_secret,
    login,
    new_account,
    relabelled_token,
    signed_token,
    token_for,
    unique_email,
    unsigned_token,
    with_payload,
)


def credentials(hub: Hub, account: Account) -> UserCredentials:
    creds = hub.read.credentials(account.id)
    assert creds is not None
    return creds


async def assert_token_refused(client: httpx.AsyncClient, token: str) -> None:
    """The token opens neither /users/me nor /login/test-token."""
    for response in (
        await client.get(f"{API}/users/me", headers=bearer(token)),
        await client.post(f"{API}/login/test-token", headers=bearer(token)),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def assert_token_accepted(
    client: httpx.AsyncClient, token: str, account: Account
) -> None:
    response = await client.get(f"{API}/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(account.id)


# --- logging in ---------------------------------------------------------------


async def test_login_gives_a_bearer_token_that_test_token_resolves_to_the_user(
    client: httpx.AsyncClient,
) -> None:
    response = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    checked = await client.post(
        f"{API}/login/test-token", headers=bearer(body["access_token"])
    )
    assert checked.status_code == 200
    user = checked.json()
    assert (user["email"], user["is_superuser"], user["is_active"]) == (
        ADMIN_EMAIL,
        True,
        True,
    )
    assert "password" not in str(user).lower()
    # The e-mail is matched without regard to case.
    shouted = await login(client, f"  {ADMIN_EMAIL.upper()} ", ADMIN_PASSWORD)
    assert shouted.status_code == 200


async def test_unknown_user_and_wrong_password_get_the_identical_401(
    client: httpx.AsyncClient,
) -> None:
    unknown = await login(client, unique_email("nobody"), ADMIN_PASSWORD)
    wrong = await login(client, ADMIN_EMAIL, "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"detail": "Incorrect e-mail or password"}
    assert unknown.headers["WWW-Authenticate"] == wrong.headers["WWW-Authenticate"]


class CountingHash(PasswordHash):
    """pwdlib's real hasher, recording the hash each verification runs against."""

    def __init__(self, template: PasswordHash) -> None:
        super().__init__(template.hashers)
        self.verified: list[str] = []

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(password, hash)


def argon2_parameters(encoded: str) -> list[str]:
    """Algorithm, version and cost of an encoded Argon2 hash (what sets its time)."""
    return encoded.split("$")[1:4]


async def test_unknown_and_known_emails_both_cost_one_argon2_verify(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    # Timing is checked by what runs, not by a clock: on a shared machine wall
    # time is too noisy to tell 0 from 1 Argon2 run reliably.
    user = await new_account(client, hub)
    real_hash = credentials(hub, user).password_hash
    counting = CountingHash(FAST_HASHER.hasher)
    hub.auth.hasher = replace(FAST_HASHER, hasher=counting)
    attempts = {
        "wrong password": (user.email, "not-the-password"),
        "unknown e-mail": (unique_email("nobody"), "not-the-password"),
        "unusable e-mail": ("nobody\x07@example.com", "not-the-password"),
        "overlong e-mail": ("n" * 250 + "@example.com", "not-the-password"),
    }
    verified = {}
    for name, (email, password) in attempts.items():
        counting.verified.clear()
        response = await login(client, email, password)
        assert response.status_code == 401, name
        verified[name] = list(counting.verified)
    assert verified["wrong password"] == [real_hash]
    for name in ("unknown e-mail", "unusable e-mail", "overlong e-mail"):
        assert verified[name] == [FAST_HASHER.dummy_hash], name
    # The stand-in hash costs what a user's does.
    assert argon2_parameters(FAST_HASHER.dummy_hash) == argon2_parameters(real_hash)
    assert argon2_parameters(real_hash)[0] == "argon2id"


async def test_sixth_failed_login_for_one_email_is_throttled_from_any_address(
    hub: Hub,
) -> None:
    app = create_api(hub)
    # A new client address each time: only the e-mail's counter can trip.
    for n in range(5):
        async with api_client(hub, app=app, client_ip=f"10.0.0.{n + 1}") as c:
            assert (await login(c, ADMIN_EMAIL, f"wrong-{n}")).status_code == 401
    async with api_client(hub, app=app, client_ip="10.0.0.99") as c:
        throttled = await login(c, ADMIN_EMAIL, "wrong-again")
        # Even the right password waits: the check comes before the password.
        right = await login(c, ADMIN_EMAIL, ADMIN_PASSWORD)
        # Another address from the same client is not affected.
        other = await login(c, unique_email("other"), "whatever-1")
    for response in (throttled, right):
        assert response.status_code == 429, response.text
        retry_after = int(response.headers["Retry-After"])
        assert 1 <= retry_after <= 60
    assert other.status_code == 401


async def test_failed_logins_from_one_address_throttle_every_email_from_it(
    hub: Hub,
) -> None:
    app = create_api(hub)
    async with api_client(hub, app=app, client_ip="192.0.2.7") as c:
        for n in range(5):
            response = await login(c, unique_email(f"guess{n}"), "wrong-password")
            assert response.status_code == 401
        throttled = await login(c, unique_email("guess5"), "wrong-password")
        admin_here = await login(c, ADMIN_EMAIL, ADMIN_PASSWORD)
    async with api_client(hub, app=app, client_ip="192.0.2.8") as c:
        admin_elsewhere = await login(c, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert admin_here.status_code == 429
    assert admin_elsewhere.status_code == 200


async def test_deactivated_user_cannot_log_in_and_loses_their_token(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    admin = await as_admin(client)
    user = await new_account(client, hub)
    await assert_token_accepted(client, user.token, user)
    response = await client.post(
        f"{API}/users/{user.id}/deactivate", headers=admin.auth
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    again = await client.post(f"{API}/users/{user.id}/deactivate", headers=admin.auth)
    assert again.status_code == 409
    await assert_token_refused(client, user.token)
    refused = await login(client, user.email, user.password)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This account is deactivated"}
    # A wrong password still gets the plain 401: nothing to learn.
    assert (await login(client, user.email, "wrong-password")).status_code == 401
    reactivated = await client.post(
        f"{API}/users/{user.id}/reactivate", headers=admin.auth
    )
    assert reactivated.status_code == 200
    again = await client.post(f"{API}/users/{user.id}/reactivate", headers=admin.auth)
    assert again.status_code == 409
    await assert_token_refused(client, user.token)  # old tokens stay void
    fresh = await token_for(client, user.email, user.password)
    await assert_token_accepted(client, fresh, user)


# --- refused tokens -----------------------------------------------------------


async def test_missing_or_garbage_credentials_get_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="},
    ):
        response = await client.get(f"{API}/users/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {"detail": "Not authenticated"}
    for garbage in ("garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "x" * 500):
        await assert_token_refused(client, garbage)


async def test_expired_forged_and_unsigned_tokens_are_refused(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    creds = credentials(hub, user)
    # The control: a token made by hand with the real key works...
    await assert_token_accepted(client, signed_token(hub, claims_for(user.id)), user)
    # ...and each of these differs from it in one way only.
    expired = TokenService(hub_secret(hub), dt.timedelta(minutes=-1)).issue(creds)
    other_secret = TokenService("another-secret-" + "x" * 32, dt.timedelta(minutes=5))
    refused = {
        "expired": expired,
        "signed with another secret": other_secret.issue(creds),
        "alg none, no signature": unsigned_token(claims_for(user.id)),
        "HS512 with the real key": hs512_token(hub, claims_for(user.id)),
        # Algorithm confusion: the real key used as an HMAC secret under another
        # algorithm's name.
        "RS256 header": relabelled_token(hub, claims_for(user.id), "RS256"),
        "ES256 header": relabelled_token(hub, claims_for(user.id), "ES256"),
        "HS384 header": relabelled_token(hub, claims_for(user.id), "HS384"),
        "alg NONE, no signature": relabelled_token(
            hub, claims_for(user.id), "NONE"
        ).rpartition(".")[0]
        + ".",
    }
    for name, token in refused.items():
        response = await client.get(f"{API}/users/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == "Bearer", name


async def test_tokens_with_a_wrong_or_missing_claim_are_refused(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    await assert_token_accepted(client, signed_token(hub, claims_for(user.id)), user)
    broken = {
        "audience of the UI": claims_for(user.id, aud="itemhub:ui"),
        "audience of someone else": claims_for(user.id, aud="someone-else"),
        "no audience": claims_for(user.id, aud=None),
        "no version": claims_for(user.id, ver=None),
        "version as text": claims_for(user.id, version="0"),
        "version as bool": claims_for(user.id, version=False),
        "future version": claims_for(user.id, version=1),
        "no expiry": claims_for(user.id, exp=None),
        "no issued-at": claims_for(user.id, iat=None),
        "no subject": claims_for(user.id, sub=None),
        "subject not a uuid": claims_for(user.id, sub="admin"),
        "unknown subject": claims_for(uuid4()),
    }
    for name, claims in broken.items():
        token = signed_token(hub, claims)
        for response in (
            await client.get(f"{API}/users/me", headers=bearer(token)),
            await client.post(f"{API}/login/test-token", headers=bearer(token)),
        ):
            assert response.status_code == 401, name
            assert response.headers["WWW-Authenticate"] == "Bearer", name


async def test_a_token_whose_subject_is_swapped_to_another_user_is_refused(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    alice = await new_account(client, hub, prefix="alice")
    bob = await new_account(client, hub, prefix="bob")
    admin = await as_admin(client)
    # The control: rewritten with no change, the token is the very same.
    assert with_payload(alice.token) == alice.token
    for other in (bob.id, admin.id):
        await assert_token_refused(client, with_payload(alice.token, sub=str(other)))
    # Nor can a token be stretched: a later expiry or an older version.
    await assert_token_refused(client, with_payload(alice.token, exp=2**40))
    await assert_token_refused(client, with_payload(alice.token, ver=-1))


async def test_logout_ends_the_token_at_once(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    second = await token_for(client, user.email, user.password)
    response = await client.post(f"{API}/logout", headers=user.auth)
    assert response.status_code == 204
    assert response.content == b""
    # Both tokens of the user end: logout is everywhere.
    await assert_token_refused(client, user.token)
    await assert_token_refused(client, second)
    again = await client.post(f"{API}/logout", headers=user.auth)
    assert again.status_code == 401
    fresh = await token_for(client, user.email, user.password)
    await assert_token_accepted(client, fresh, user)


async def test_password_change_ends_the_old_token(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    response = await client.patch(
        f"{API}/users/me/password",
        json={"current_password": user.password, "new_password": "brand-new-pass-1"},
        headers=user.auth,
    )
    assert response.status_code == 200, response.text
    await assert_token_refused(client, user.token)
    fresh = await token_for(client, user.email, "brand-new-pass-1")
    await assert_token_accepted(client, fresh, user)


# --- reused token checks --------------------------------------------------------


def bump_behind_the_read_side(hub: Hub, account: Account) -> None:
    """Void the user's tokens in the users table without an event (a test lever)."""
    users = hub.store.tables.users
    with hub.store.writer.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == account.id)
            .values(token_version=users.c.token_version + 1)
        )


async def test_a_token_check_is_reused_only_until_the_users_read_model_moves(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    admin = await as_admin(client)
    user = await new_account(client, hub)
    await assert_token_accepted(client, user.token, user)
    stamp = users_stamp(hub)
    assert stamp is not None
    assert hub.auth.sessions.get(user.id, 0, stamp) is not None
    # The table now voids the token, but nothing was projected: the check passed
    # under the same stamp is reused (this is what saves the lookup).
    bump_behind_the_read_side(hub, user)
    await assert_token_accepted(client, user.token, user)
    # Other read models moving (an item) leave the stamp, and the check, alone.
    await create_item(client, admin, "moves the items read model")
    assert users_stamp(hub) == stamp
    await assert_token_accepted(client, user.token, user)
    # Any projected user change, here another account, moves the stamp: the
    # next check reads the table again, at once.
    await new_account(client, hub)
    assert users_stamp(hub) != stamp
    await assert_token_refused(client, user.token)


async def test_a_reused_token_check_expires_after_the_ttl(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    now = [0.0]
    hub.auth.sessions = SessionCache(clock=lambda: now[0])
    user = await new_account(client, hub)
    await assert_token_accepted(client, user.token, user)
    bump_behind_the_read_side(hub, user)
    now[0] += SESSION_CACHE_TTL / 2
    await assert_token_accepted(client, user.token, user)
    now[0] += SESSION_CACHE_TTL / 2
    await assert_token_refused(client, user.token)


async def test_without_running_workers_every_token_check_reads_the_table(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    user = await new_account(client, hub)
    hub.stop()
    assert users_stamp(hub) is None
    await assert_token_accepted(client, user.token, user)
    bump_behind_the_read_side(hub, user)
    await assert_token_refused(client, user.token)
    assert len(hub.auth.sessions) == 0


def test_session_cache_answers_only_the_same_stamp_and_version() -> None:
    now = [100.0]
    cache = SessionCache(ttl=2.0, max_entries=2, clock=lambda: now[0])
    user = UserCredentials(
        id=uuid4(),
        email="a@example.com",
        password_hash="x",
        is_active=True,
        is_superuser=False,
        token_version=3,
    )
    cache.put(user, (5, 5))
    assert cache.get(user.id, 3, (5, 5)) is user
    assert cache.get(user.id, 2, (5, 5)) is None  # another token version
    assert cache.get(uuid4(), 3, (5, 5)) is None
    assert cache.get(user.id, 3, (6, 5)) is None  # the read model moved...
    assert cache.get(user.id, 3, (5, 5)) is None  # ...and the entry is gone
    cache.put(user, (5, 5))
    now[0] += 2.0
    assert cache.get(user.id, 3, (5, 5)) is None  # expired
    for n in range(3):
        cache.put(replace(user, id=uuid4(), token_version=n), (5, 5))
    assert len(cache) <= 2  # bounded: full means start over
