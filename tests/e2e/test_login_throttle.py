"""The login throttle under parallel guesses, in memory and in a shared Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import httpx
import pytest
import redis
from limits.storage import MemoryStorage, RedisStorage, Storage
from nicegui.testing import User

from itemhub.api import create_api
from itemhub.auth import LoginFailed, LoginGuard, LoginThrottled
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, register
from tests.e2e.api_helpers import (
    API,
    PASSWORD,
    api_client,
    login,
    new_account,
    unique_email,
)
from tests.e2e.ui_helpers import RETRIES, running_hub
from tests.e2e.ui_helpers import login as ui_login

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 5
GUESSES = 30


@pytest.fixture(params=["memory", "redis"])
def guard_storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    """Where the guard counts: this process, or a Redis shared by instances."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is required: {exc}")
    # Its own key prefix: nothing another test counts can leak in.
    storage = RedisStorage(REDIS_URL, key_prefix=f"itemhub-test-{uuid.uuid4().hex}")
    try:
        yield storage
    finally:
        storage.reset()


@pytest.fixture
def guarded_hub(hub: Hub, guard_storage: Storage) -> Hub:
    """The hub with a 5/minute login guard counting in ``guard_storage``."""
    hub.auth.guard = LoginGuard.create(f"{LIMIT}/minute", storage=guard_storage)
    return hub


def all_at_once(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(n)`` for n < count in threads released together."""
    start = Barrier(count)

    def run(n: int) -> object:
        start.wait()
        try:
            return attempt(n)
        except (LoginFailed, LoginThrottled) as exc:
            return type(exc)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


async def test_parallel_wrong_passwords_over_the_api_reach_the_check_at_most_5(
    guarded_hub: Hub,
) -> None:
    email = unique_email("target")
    await asyncio.to_thread(register, guarded_hub, email)
    app = create_api(guarded_hub)

    async def guess(n: int) -> int:
        # A new address per guess: only the account's counter can hold them.
        async with api_client(guarded_hub, app=app, client_ip=f"10.9.0.{n}") as c:
            return (await login(c, email, f"wrong-{n}")).status_code

    statuses = Counter(await asyncio.gather(*(guess(n) for n in range(GUESSES))))
    # Each 401 is a password that was checked; the rest never got that far.
    assert statuses[401] <= LIMIT
    assert statuses[401] + statuses[429] == GUESSES
    async with api_client(guarded_hub, app=app, client_ip="10.9.1.1") as c:
        right = await login(c, email, PASSWORD)
    assert right.status_code == 429, right.text
    assert 1 <= int(right.headers["Retry-After"]) <= 60


def test_parallel_wrong_passwords_in_the_authenticator_reach_the_check_at_most_5(
    guarded_hub: Hub,
) -> None:
    email = unique_email("target")
    register(guarded_hub, email)
    outcomes = Counter(
        all_at_once(
            GUESSES,
            lambda n: guarded_hub.auth.login(email, f"wrong-{n}", f"10.8.0.{n}"),
        )
    )
    assert outcomes[LoginFailed] <= LIMIT
    assert outcomes[LoginFailed] + outcomes[LoginThrottled] == GUESSES
    with pytest.raises(LoginThrottled):
        guarded_hub.auth.login(email, PASSWORD, "10.8.1.1")


def test_parallel_guesses_from_one_address_reach_the_check_at_most_5(
    guarded_hub: Hub,
) -> None:
    outcomes = Counter(
        all_at_once(
            GUESSES,
            lambda n: guarded_hub.auth.login(
                unique_email(f"spray{n}"), "wrong-password", "198.51.100.7"
            ),
        )
    )
    assert outcomes[LoginFailed] <= LIMIT
    assert outcomes[LoginFailed] + outcomes[LoginThrottled] == GUESSES


def test_successful_logins_do_not_use_up_the_limit(guarded_hub: Hub) -> None:
    email = unique_email("regular")
    register(guarded_hub, email)
    for _ in range(LIMIT * 2):
        assert guarded_hub.auth.login(email, PASSWORD, "203.0.113.9").email == email
    for n in range(LIMIT):
        with pytest.raises(LoginFailed):
            guarded_hub.auth.login(email, f"wrong-{n}", "203.0.113.9")
    with pytest.raises(LoginThrottled):
        guarded_hub.auth.login(email, PASSWORD, "203.0.113.9")


def test_a_check_outliving_its_window_does_not_lock_the_key_out(
    guard_storage: Storage,
) -> None:
    # A short window: its passing, while a check is in flight, is the scenario.
    guard = LoginGuard.create(f"{LIMIT}/second", storage=guard_storage)
    with guard.hold("email:slow@example.com", "ip:192.0.2.1"):
        time.sleep(1.3)  # the in-flight count expires under this check
    # Checks keep passing, also across the next windows (each a second long).
    for _ in range(4):
        with guard.hold("email:slow@example.com", "ip:192.0.2.1"):
            pass
        time.sleep(0.6)
    # And the limit still holds.
    for _ in range(LIMIT):
        with guard.hold("email:slow@example.com", "ip:192.0.2.1") as attempt:
            attempt.failed()
    with pytest.raises(LoginThrottled):
        with guard.hold("email:slow@example.com", "ip:192.0.2.1"):
            pass


# --- the current password on a password change ---------------------------------


async def test_wrong_current_passwords_over_the_api_are_throttled_like_logins(
    hub: Hub,
) -> None:
    async with api_client(hub, client_ip="10.7.0.1") as client:
        user = await new_account(client, hub)
        url = f"{API}/users/me/password"

        async def change(current: str) -> httpx.Response:
            body = {"current_password": current, "new_password": "next-pass-123"}
            return await client.patch(url, json=body, headers=user.auth)

        for n in range(LIMIT):
            assert (await change(f"wrong-{n}")).status_code == 422
        head = hub.head()
        throttled = await change("wrong-again")
        # Even the right password waits, and so does a login to the account.
        right = await change(user.password)
    async with api_client(hub, client_ip="10.7.0.2") as elsewhere:
        relogin = await login(elsewhere, user.email, user.password)
    for response in (throttled, right, relogin):
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert hub.head() == head  # nothing changed


async def test_a_new_e_mail_does_not_reset_the_count_of_wrong_current_passwords(
    hub: Hub,
) -> None:
    url = f"{API}/users/me/password"
    async with api_client(hub, client_ip="10.7.2.1") as client:
        user = await new_account(client, hub)

        async def change(client: httpx.AsyncClient, current: str) -> httpx.Response:
            body = {"current_password": current, "new_password": "next-pass-123"}
            return await client.patch(url, json=body, headers=user.auth)

        for n in range(LIMIT - 1):
            assert (await change(client, f"wrong-{n}")).status_code == 422
        # A stolen token changes the e-mail (no password needed) ...
        moved = await client.patch(
            f"{API}/users/me", json={"email": unique_email("moved")}, headers=user.auth
        )
        assert moved.status_code == 200, moved.text
        assert (await change(client, "wrong-last")).status_code == 422
    # ... and guesses on from another address: the account's count still holds.
    async with api_client(hub, client_ip="10.7.2.2") as elsewhere:
        head = hub.head()
        throttled = await change(elsewhere, user.password)
        # Nor does a login with the new address give fresh guesses.
        relogin = await login(elsewhere, moved.json()["email"], user.password)
    for response in (throttled, relogin):
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert hub.head() == head  # the password did not change


async def test_wrong_current_passwords_on_the_profile_page_are_throttled(
    app_env: Path, user: User
) -> None:
    del app_env
    await ui_login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/profile")

    def change(current: str) -> None:
        user.find(marker="current-password").clear().type(current)
        user.find(marker="new-password").clear().type("next-pass-123")
        user.find(marker="change-password").click()

    for n in range(LIMIT):
        change(f"wrong-{n}")
        await user.should_see("current_password: is incorrect", retries=RETRIES)
    change(ADMIN_PASSWORD)
    await user.should_see("Too many wrong passwords", retries=RETRIES)
    await user.should_see(marker="current-user")  # still logged in, unchanged
    hub = running_hub()
    with pytest.raises(LoginThrottled):
        await asyncio.to_thread(hub.auth.login, ADMIN_EMAIL, ADMIN_PASSWORD, "10.7.1.1")
