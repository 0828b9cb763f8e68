"""Real Chromium (Debian's) against a real server: two users, one drag, both boards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ITEMHUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE = "<img src=x onerror=window.pwned=1>"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# NiceGUI's own readiness rule: the socket handshake is done and no message
# has arrived for 100 ms.
WAIT_IDLE_JS = """() => new Promise(resolve => {
  let last = window.nextMessageId, since = Date.now();
  const tick = () => {
    if (window.nextMessageId !== last) {
      last = window.nextMessageId; since = Date.now();
    }
    if (Date.now() - since >= 100) resolve(); else setTimeout(tick, 20);
  };
  setTimeout(tick, 20);
})"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        Path(tmp_path_factory.mktemp("browser")),
        ITEMHUB_FIRST_SUPERUSER_EMAIL=ADMIN_EMAIL,
        ITEMHUB_FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
    )
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _ready(page: Page) -> None:
    await page.wait_for_function("window.did_handshake === true")
    await page.evaluate(WAIT_IDLE_JS)


async def _log_in(browser: Browser, server: Server, email: str, password: str) -> Page:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/")
    await page.wait_for_url("**/login?next=*")
    await _ready(page)
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("password").press("Enter")
    await page.wait_for_url(f"{server.url}/")
    await _ready(page)
    return page


def _api_token(server: Server, email: str, password: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/login/access-token",
        data={"username": email, "password": password},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def test_a_drag_in_one_browser_moves_the_card_in_the_other(
    server: Server, browser: Browser
) -> None:
    admin_token = _api_token(server, ADMIN_EMAIL, ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {admin_token}"}
    created = httpx.post(
        f"{server.url}/api/v1/users",
        json={
            "email": "bob@example.com",
            "password": "bob-password",
            "is_superuser": True,
        },
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text

    admin = await _log_in(browser, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await _log_in(browser, server, "bob@example.com", "bob-password")

    # A change through the REST API appears in both open boards.
    item = httpx.post(
        f"{server.url}/api/v1/items",
        json={
            "title": "Ship the release",
            "column": "Todo",
            "description": f"Notes {HOSTILE}",
        },
        headers=headers,
        timeout=10,
    ).json()
    card = f"[data-testid=card-{item['id']}]"
    for page in (admin, bob):
        await expect(page.locator(f"[data-testid=col-todo] > {card}")).to_be_visible()
        # Item text is shown as text, never as markup.
        await expect(page.locator(card)).to_contain_text(HOSTILE)
        assert await page.evaluate("window.pwned") is None
        await _ready(page)

    # Presence: each board shows both viewers.
    for page in (admin, bob):
        await expect(page.locator("[data-testid^=viewer-]")).to_have_count(2)

    # Watched from before the drag: Bob's card flashes for a moment only.
    flashed = asyncio.create_task(
        bob.wait_for_function(
            """card => [...document.querySelectorAll(card)].some(
                e => e.textContent.includes("changed by Administrator"))""",
            arg=card,
        )
    )
    await admin.locator(card).drag_to(admin.locator("[data-testid=col-done]"))
    await expect(bob.locator(f"[data-testid=col-done] > {card}")).to_be_visible()
    await expect(bob.locator(f"[data-testid=col-todo] > {card}")).to_have_count(0)
    await flashed
    await expect(bob.locator(card)).not_to_contain_text("changed by")
    moved = httpx.get(
        f"{server.url}/api/v1/items/{item['id']}", headers=headers, timeout=10
    ).json()
    assert (moved["column"], moved["position"], moved["version"]) == ("Done", 0, 2)

    # A click on the card opens the editor at the version the card shows.
    await _ready(bob)
    await bob.locator(card).click()
    await expect(bob.get_by_text("Item (version 2)")).to_be_visible()
    await bob.keyboard.press("Escape")
    await expect(bob.get_by_text("Item (version 2)")).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    await bob.screenshot(path=str(ARTIFACTS / "board-after-remote-drag.png"))
    assert (ARTIFACTS / "board-after-remote-drag.png").stat().st_size > 0


# Holds back the card operations of live updates, as if they were still on their
# way to this tab, and lets the resets of a refused drag through.
HOLD_PUSHES_JS = """() => {
  const drain = window.__itemhub_drain;
  const isReset = ([, ops]) => ops.some((op) => op.op === "reset");
  window.__itemhub_held = [];
  window.__itemhub_drain = () => {
    const queue = window.__itemhub_ops || [];
    window.__itemhub_held.push(...queue.filter((entry) => !isReset(entry)));
    window.__itemhub_ops = queue.filter(isReset);
    drain();
  };
  window.__itemhub_release = () => {
    window.__itemhub_ops = [...(window.__itemhub_ops || []), ...window.__itemhub_held];
    window.__itemhub_drain = drain;
    drain();
  };
}"""


async def test_a_drag_refused_as_stale_snaps_back_in_the_browser(
    server: Server, browser: Browser
) -> None:
    headers = {
        "Authorization": f"Bearer {_api_token(server, ADMIN_EMAIL, ADMIN_PASSWORD)}"
    }
    item = httpx.post(
        f"{server.url}/api/v1/items",
        json={"title": "Contested card", "column": "Todo"},
        headers=headers,
        timeout=10,
    ).json()
    card = f"[data-testid=card-{item['id']}]"
    page = await _log_in(browser, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    await expect(page.locator(f"[data-testid=col-todo] > {card}")).to_be_visible()
    await page.evaluate(HOLD_PUSHES_JS)

    # Moved elsewhere meanwhile; this tab has not shown it yet.
    moved = httpx.post(
        f"{server.url}/api/v1/items/{item['id']}/move",
        json={"column": "Doing", "position": 0},
        headers=headers,
        timeout=10,
    )
    assert moved.status_code == 200, moved.text
    await _ready(page)
    await expect(page.locator(f"[data-testid=col-todo] > {card}")).to_be_visible()

    # The drag carries version 1, the version the card shows: refused.
    await page.locator(card).drag_to(page.locator("[data-testid=col-done]"))
    await expect(page.get_by_text("moved or changed it first")).to_be_visible()
    await expect(page.locator(f"[data-testid=col-done] > {card}")).to_have_count(0)
    await expect(page.locator(f"[data-testid=col-todo] > {card}")).to_have_count(0)
    # The held update arrives after the reset and still applies.
    await page.evaluate("window.__itemhub_release()")
    await expect(page.locator(f"[data-testid=col-doing] > {card}")).to_be_visible()
    await expect(page.locator(card)).to_have_count(1)
    now = httpx.get(
        f"{server.url}/api/v1/items/{item['id']}", headers=headers, timeout=10
    ).json()
    assert (now["column"], now["version"]) == ("Doing", 2)


async def test_a_demoted_superusers_open_audit_tab_stops_within_two_seconds(
    server: Server, browser: Browser
) -> None:
    headers = {
        "Authorization": f"Bearer {_api_token(server, ADMIN_EMAIL, ADMIN_PASSWORD)}"
    }
    carol = httpx.post(
        f"{server.url}/api/v1/users",
        json={
            "email": "carol@example.com",
            "password": "carol-password",
            "is_superuser": True,
        },
        headers=headers,
        timeout=10,
    )
    assert carol.status_code == 201, carol.text
    page = await _log_in(browser, server, "carol@example.com", "carol-password")
    # Every message the audit tab receives over its socket, from its first.
    received: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda frame: received.append(str(frame))),
    )
    await page.goto(f"{server.url}/audit")
    await _ready(page)
    await expect(page.get_by_text("Security log")).to_be_visible()
    # While a superuser, the tab shows everyone's events live, over its socket.
    shown = httpx.post(
        f"{server.url}/api/v1/items",
        json={"title": "Public roadmap", "column": "Todo"},
        headers=headers,
        timeout=10,
    )
    assert shown.status_code == 201, shown.text
    await expect(page.get_by_text('created "Public roadmap"')).to_be_visible()
    assert any("Public roadmap" in frame for frame in received)

    demoted = httpx.patch(
        f"{server.url}/api/v1/users/{carol.json()['id']}",
        json={"is_superuser": False},
        headers=headers,
        timeout=10,
    )
    assert demoted.status_code == 200, demoted.text
    secret = httpx.post(
        f"{server.url}/api/v1/items",
        json={"title": "Quarterly secret plan", "column": "Todo"},
        headers=headers,
        timeout=10,
    )
    assert secret.status_code == 201, secret.text
    await page.wait_for_url("**/login**", timeout=2000)
    await _ready(page)
    assert not any("Quarterly secret plan" in frame for frame in received)
