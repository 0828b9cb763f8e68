"""Two instances on one database: a change through one reaches the other's clients."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.cluster.conftest import API, create_item, token, wait_ready
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server
from tests.e2e.test_event_stream import Stream

CHROMIUM = os.environ.get("ITEMHUB_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (required: fail, never skip, without it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _log_in(
    browser: Browser,
    server: Server,
    path: str = "/",
    email: str = ADMIN_EMAIL,
    password: str = ADMIN_PASSWORD,
) -> Page:
    """A new browser context (its own cookies) logged in on ``server`` at ``path``."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{server.url}{path}")
    await page.wait_for_url("**/login?next=*")
    await page.wait_for_function("window.did_handshake === true")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("password").press("Enter")
    await page.wait_for_url(f"{server.url}{path}")
    await page.wait_for_function("window.did_handshake === true")
    return page


def _open_stream(server: Server, bearer: str) -> tuple[httpx.Client, Stream]:
    client = httpx.Client(timeout=httpx.Timeout(10.0, read=30.0))
    request = client.build_request(
        "GET",
        f"{server.url}{API}/events/stream",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    response = client.send(request, stream=True)
    assert response.status_code == 200, response.read()
    stream = Stream(response)
    threading.Thread(target=stream.read, daemon=True).start()
    return client, stream


def _leaders(server: Server, bearer: str) -> dict[str, str]:
    response = httpx.get(
        f"{server.url}{API}/health/ready",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return {p["name"]: p["state"] for p in response.json()["projections"]}


def test_a_change_through_one_instance_reaches_the_other_s_stream(
    start_instance: Callable[..., Server],
) -> None:
    a = start_instance()
    b = start_instance()
    wait_ready(b)
    bearer_a, bearer_b = token(a), token(b)

    # Exactly one instance runs each projection; the other follows it.
    states_a, states_b = _leaders(a, bearer_a), _leaders(b, bearer_b)
    for name in states_a:
        assert sorted([states_a[name], states_b[name]]) == ["running", "standby"]

    client, stream = _open_stream(b, bearer_b)
    try:
        assert stream.comments.get(timeout=10) == ": heartbeat"
        item_id = create_item(a, bearer_a, "made on A")["id"]
        (event,) = stream.next_events(1)
        assert event["event"] == "item.created"
        assert json.loads(event["data"])["target_id"] == item_id

        # Read-your-writes holds on B too: a write through B is readable at once.
        moved = httpx.post(
            f"{b.url}{API}/items/{item_id}/move",
            json={"column": "Done", "position": 0},
            headers={"Authorization": f"Bearer {bearer_b}"},
            timeout=10,
        )
        assert moved.status_code == 200, moved.text
        seen_on_a = httpx.get(
            f"{a.url}{API}/items/{item_id}",
            headers={"Authorization": f"Bearer {bearer_a}"},
            timeout=10,
        ).json()
        assert seen_on_a["column"] == "Done"
        (event,) = stream.next_events(1)
        assert event["event"] == "item.moved"
    finally:
        stream.response.close()
        client.close()


@pytest.mark.browser
async def test_a_change_through_one_instance_appears_on_a_board_served_by_the_other(
    start_instance: Callable[..., Server], browser: Browser
) -> None:
    a = start_instance()
    b = start_instance()
    wait_ready(b)
    page = await _log_in(browser, b)

    create_item(a, token(a), "pushed across instances")
    await expect(page.get_by_text("pushed across instances")).to_be_visible()


@pytest.mark.browser
async def test_a_ui_session_works_on_every_instance_and_survives_a_restart(
    start_instance: Callable[..., Server], browser: Browser
) -> None:
    b = start_instance()
    page = await _log_in(browser, b, "/profile")

    # Cookies ignore the port: the same browser session reaches another
    # instance, which knows it only through the shared Redis storage.
    b.stop()
    c = start_instance()
    await page.goto(f"{c.url}/profile")
    await page.wait_for_function("window.did_handshake === true")
    assert page.url == f"{c.url}/profile"
    # The header names the logged-in first superuser.
    await expect(page.get_by_text("Administrator").first).to_be_visible()


@pytest.mark.browser
async def test_presence_shows_the_viewers_of_every_instance(
    start_instance: Callable[..., Server], browser: Browser
) -> None:
    a = start_instance()
    b = start_instance()
    created = httpx.post(
        f"{a.url}{API}/users",
        json={"email": "bob@example.com", "password": "bob-password"},
        headers={"Authorization": f"Bearer {token(a)}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    # Separate contexts: separate cookies, so two sessions.
    pages = [
        await _log_in(browser, a),
        await _log_in(browser, b, "/", "bob@example.com", "bob-password"),
    ]
    for page in pages:
        await expect(page.locator("[data-testid^=viewer-]")).to_have_count(2)

    # Bob leaves the board on B: A's board shows only its own viewer.
    await pages[1].context.close()
    await expect(pages[0].locator("[data-testid^=viewer-]")).to_have_count(1)


def test_failed_logins_on_every_instance_count_together(
    start_instance: Callable[..., Server],
) -> None:
    a = start_instance(ITEMHUB_LOGIN_RATE_LIMIT="3/minute")
    b = start_instance(ITEMHUB_LOGIN_RATE_LIMIT="3/minute")
    email = f"nobody-{uuid4().hex[:8]}@example.com"

    def attempt(server: Server) -> httpx.Response:
        return httpx.post(
            f"{server.url}{API}/login/access-token",
            data={"username": email, "password": "wrong-password"},
            timeout=10,
        )

    assert [attempt(s).status_code for s in (a, b, a)] == [401, 401, 401]
    throttled = attempt(b)
    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["Retry-After"]) > 0
