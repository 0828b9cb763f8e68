"""The login throttle under parallel guesses, in memory and in a shared Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import redis
from limits.storage import MemoryStorage, RedisStorage, Storage

from itemhub.api import create_api
from itemhub.auth import LoginFailed, LoginGuard, LoginThrottled
from itemhub.runtime import Hub
from tests.conftest import register
from tests.e2e.api_helpers import PASSWORD, api_client, login, unique_email

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
