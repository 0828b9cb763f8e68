"""Real Chromium (Debian's) against a real server: two users, one drag, both boards."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Cookie, Page, async_playwright, expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.proxy import Proxy, proxy_in_front
from tests.e2e.server import Server
from tests.e2e.ui_helpers import cookie_session_id

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


async def _log_in(
    browser: Browser, server: Server | Proxy, email: str, password: str
) -> Page:
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


# Holds back the board's live changes, as if they were still on their way to
# this tab, and lets the whole board a refused drag brings through.
HOLD_PUSHES_JS = """() => {
  const receive = window.__itemhub_receive;
  const held = [];
  window.__itemhub_receive = (message) =>
    message.sync ? receive(message) : held.push(message);
  window.__itemhub_release = () => {
    window.__itemhub_receive = receive;
    for (const message of held.splice(0)) receive(message);
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
    # The refusal brought the server's board; the held change, arriving after
    # it, changes nothing.
    await page.evaluate("window.__itemhub_release()")
    await expect(page.locator(f"[data-testid=col-doing] > {card}")).to_be_visible()
    await expect(page.locator(card)).to_have_count(1)
    now = httpx.get(
        f"{server.url}/api/v1/items/{item['id']}", headers=headers, timeout=10
    ).json()
    assert (now["column"], now["version"]) == ("Doing", 2)


# Loses the next live change, as a socket that was away would.
LOSE_ONE_JS = """() => {
  const receive = window.__itemhub_receive;
  window.__itemhub_receive = (message) => {
    window.__itemhub_receive = receive;
    window.__itemhub_lost = message.seq;
  };
}"""


async def test_a_tab_that_missed_a_change_catches_up_at_the_next(
    server: Server, browser: Browser
) -> None:
    headers = {
        "Authorization": f"Bearer {_api_token(server, ADMIN_EMAIL, ADMIN_PASSWORD)}"
    }
    page = await _log_in(browser, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    await page.evaluate(LOSE_ONE_JS)

    def create(title: str) -> str:
        response = httpx.post(
            f"{server.url}/api/v1/items",
            json={"title": title, "column": "Todo"},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    lost = create("Lost on the way")
    await page.wait_for_function("window.__itemhub_lost !== undefined")
    await expect(page.locator(f"[data-testid=card-{lost}]")).to_have_count(0)
    # The next change shows a gap: the tab asks for the whole board.
    after = create("Came next")
    for item in (lost, after):
        await expect(
            page.locator(f"[data-testid=col-todo] > [data-testid=card-{item}]")
        ).to_be_visible()


# Each would run script if shown as markup (or, for the braces, if compiled as a
# Vue template: NiceGUI's CSP allows eval).
HOSTILE_TITLE = "<img src=x onerror=window.pwned=1> {{ 7*191 }}"
HOSTILE_TEXT = "</script><script>window.pwned=2</script><svg onload=window.pwned=3>"
HOSTILE_NAME = "<img src=x onerror=window.pwned=4>{{ 7*191 }}"
HOSTILE_AGENT = "<svg onload=window.pwned=5>"
INJECTED = "img[src=x], svg[onload]"


async def _shows_as_text(page: Page, *texts: str) -> None:
    """Each text is visible on the page as text, and nothing ran or was injected."""
    await _ready(page)
    for text in texts:
        await expect(page.get_by_text(text).first).to_be_attached()
    assert await page.locator(INJECTED).count() == 0, page.url
    assert await page.evaluate("window.pwned") is None, page.url


async def test_hostile_titles_descriptions_and_names_stay_text_on_every_page(
    server: Server, browser: Browser
) -> None:
    admin_headers = {
        "Authorization": f"Bearer {_api_token(server, ADMIN_EMAIL, ADMIN_PASSWORD)}"
    }
    api = f"{server.url}/api/v1"
    created = httpx.post(
        f"{api}/users",
        json={
            "email": "mallory@example.com",
            "password": "mallory-password",
            "full_name": HOSTILE_NAME,
        },
        headers=admin_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    # A hostile user agent lands in the security log.
    mallory_login = httpx.post(
        f"{api}/login/access-token",
        data={"username": "mallory@example.com", "password": "mallory-password"},
        headers={"User-Agent": HOSTILE_AGENT},
        timeout=10,
    )
    mallory_headers = {
        "Authorization": f"Bearer {mallory_login.json()['access_token']}"
    }
    admin = await _log_in(browser, server, ADMIN_EMAIL, ADMIN_PASSWORD)

    # Board, live: a new card and a changed one, with their owner's name.
    item = httpx.post(
        f"{api}/items",
        json={"title": HOSTILE_TITLE, "column": "Todo", "description": HOSTILE_TEXT},
        headers=mallory_headers,
        timeout=10,
    ).json()
    card = admin.locator(f"[data-testid=card-{item['id']}]")
    await expect(card).to_contain_text(HOSTILE_TITLE)
    await expect(card).to_contain_text(HOSTILE_NAME)
    edited = httpx.patch(
        f"{api}/items/{item['id']}",
        json={"description": f"{HOSTILE_TEXT} (edited)"},
        headers=admin_headers,
        timeout=10,
    )
    assert edited.status_code == 200, edited.text
    await expect(card).to_contain_text("(edited)")
    await _shows_as_text(admin, HOSTILE_TITLE, HOSTILE_NAME)

    # Presence, live: Mallory's name on the admin's board; her own pages.
    mallory = await _log_in(browser, server, "mallory@example.com", "mallory-password")
    await expect(admin.locator("[data-testid^=viewer-]")).to_have_count(2)
    await _shows_as_text(admin, HOSTILE_TITLE)
    await _shows_as_text(mallory, HOSTILE_TITLE, HOSTILE_NAME)
    await mallory.goto(f"{server.url}/profile")
    await _shows_as_text(mallory, HOSTILE_NAME)

    # The item dialog.
    await card.click()
    await expect(admin.get_by_text("Item (version 2)")).to_be_visible()
    await _shows_as_text(admin, HOSTILE_NAME)
    assert await admin.get_by_label("Title").input_value() == HOSTILE_TITLE
    await admin.keyboard.press("Escape")

    # Pages rendered with the text in them from the start.
    pages = {
        "/audit": (HOSTILE_TITLE, HOSTILE_NAME),
        "/users": (HOSTILE_NAME,),
        f"/items/{item['id']}/history": (HOSTILE_TITLE,),
        f"/items/{item['id']}/history?version=1": (HOSTILE_TITLE,),
        "/timetravel": (HOSTILE_TITLE,),
    }
    for path, texts in pages.items():
        await admin.goto(f"{server.url}{path}")
        await _shows_as_text(admin, *texts)
    entries = httpx.get(
        f"{api}/audit/events",
        params={"item": item["id"]},
        headers=admin_headers,
        timeout=10,
    ).json()["data"]
    await admin.goto(f"{server.url}/replay?correlation={entries[-1]['correlation_id']}")
    await _shows_as_text(admin, "Item.Created", HOSTILE_TITLE, HOSTILE_NAME)

    # The audit trail: event details, the security log, and a live new row.
    await admin.goto(f"{server.url}/audit")
    await _ready(admin)
    await admin.locator("button:has(i:text-is('data_object'))").first.click()
    await _shows_as_text(admin, "Replay this correlation")
    await admin.keyboard.press("Escape")
    await admin.get_by_role("tab", name="Security log").click()
    await _shows_as_text(admin, HOSTILE_AGENT)
    await admin.get_by_role("tab", name="Events").click()
    httpx.post(
        f"{api}/items",
        json={"title": f"{HOSTILE_TITLE} again", "column": "Todo"},
        headers=mallory_headers,
        timeout=10,
    ).raise_for_status()
    await _shows_as_text(admin, f"{HOSTILE_TITLE} again")


async def test_the_page_socket_is_a_websocket_the_csp_allows(
    server: Server, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    # Record violations from the first script on (the page's own handlers
    # could miss a socket opened before them).
    await page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    response = await page.goto(f"{server.url}/login")
    assert response is not None
    policy = (await response.all_headers())["content-security-policy"]
    assert "connect-src 'self';" in policy
    await _ready(page)
    # NiceGUI falls back to long polling when a WebSocket fails: name the transport.
    transport = await page.evaluate("window.socket.io.engine.transport.name")
    assert transport == "websocket"
    assert await page.evaluate("window.violations") == []
    await context.close()


async def test_behind_the_proxy_the_board_is_live_and_the_logout_button_works(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    # deploy/nginx.conf in front: the page's origin carries the proxy's port.
    with proxy_in_front(tmp_path, server.port) as proxy:
        page = await _log_in(browser, proxy, ADMIN_EMAIL, ADMIN_PASSWORD)
        transport = await page.evaluate("window.socket.io.engine.transport.name")
        assert transport == "websocket"
        await page.get_by_title("Log out").click()
        await page.wait_for_url(f"{proxy.url}/login")
        await page.context.close()


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


# --- sessions: where a login leads, fixation, logout ----------------------------


async def _submit_login(page: Page, email: str, password: str) -> None:
    await _ready(page)
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("password").press("Enter")
    await page.wait_for_url(lambda url: "/login" not in url)


def _session_cookie(cookies: list[Cookie]) -> str:
    (value,) = [c["value"] for c in cookies if c["name"] == "session"]
    return value


@pytest.mark.parametrize("next_", ["/%5Cevil.example", "/%09/evil.example"])
async def test_a_login_with_an_off_site_next_stays_on_the_site(
    server: Server, browser: Browser, next_: str
) -> None:
    context = await browser.new_context()
    # Only loopback answers here; whatever Chromium would fetch from the other
    # site is served by this route instead, so the test sees where it went.
    await context.route(
        re.compile(r"^https?://evil\.example"),
        lambda route: route.fulfill(body="<h1>evil</h1>", content_type="text/html"),
    )
    page = await context.new_page()
    await page.goto(f"{server.url}/login?next={next_}")
    await _submit_login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert page.url == f"{server.url}/"
    await _ready(page)
    await expect(
        page.get_by_role("banner").get_by_text("Administrator")
    ).to_be_visible()


async def test_a_session_cookie_planted_before_login_stays_logged_out(
    server: Server, browser: Browser
) -> None:
    # The attacker gets a session cookie of their own and plants it in the
    # victim's browser (a sibling subdomain or the network can set cookies).
    # Closed however the test ends: a socket left to the garbage collector
    # fails whichever later test is running when it is collected.
    with httpx.Client(base_url=server.url, timeout=10) as attacker:
        attacker.get("/login").raise_for_status()
        planted = attacker.cookies["session"]
        context = await browser.new_context()
        await context.add_cookies(
            [{"name": "session", "value": planted, "url": server.url}]
        )
        page = await context.new_page()
        completions: list[str] = []
        page.on(
            "request",
            lambda r: completions.append(r.url) if "/login/complete" in r.url else None,
        )
        await page.goto(f"{server.url}/login")
        await _submit_login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        await _ready(page)
        await expect(
            page.get_by_role("banner").get_by_text("Administrator")
        ).to_be_visible()

        after = _session_cookie(await context.cookies())
        assert cookie_session_id(
            after, server.secret("storage_secret")
        ) != cookie_session_id(planted, server.secret("storage_secret"))
        board = attacker.get("/", follow_redirects=False)
        assert board.status_code == 303
        assert board.headers["location"].startswith("/login")
        # Nor does the victim's login link, replayed with the planted cookie.
        (link,) = completions
        replayed = attacker.get(link, follow_redirects=False)
        assert replayed.headers["location"] == "/login?incomplete=true"
        assert attacker.get("/", follow_redirects=False).status_code == 303


async def test_the_logout_button_logs_out_and_a_logout_link_does_not(
    server: Server, browser: Browser
) -> None:
    page = await _log_in(browser, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    # What a link or an image on any page would do: nothing.
    response = await page.goto(f"{server.url}/logout")
    assert response is not None and response.status == 405
    await page.goto(f"{server.url}/")
    await _ready(page)
    await expect(
        page.get_by_role("banner").get_by_text("Administrator")
    ).to_be_visible()
    before = _session_cookie(await page.context.cookies())

    await page.get_by_title("Log out").click()
    await page.wait_for_url(f"{server.url}/login")
    await page.goto(f"{server.url}/")
    await page.wait_for_url("**/login?next=*")
    after = _session_cookie(await page.context.cookies())
    assert cookie_session_id(
        after, server.secret("storage_secret")
    ) != cookie_session_id(before, server.secret("storage_secret"))


async def test_a_secure_session_cookie_is_a_host_only_cookie_that_logs_in(
    tmp_path: Path, browser: Browser
) -> None:
    # What prod sets (Chromium takes Secure cookies from http://127.0.0.1).
    secure = Server(
        tmp_path,
        ITEMHUB_FIRST_SUPERUSER_EMAIL=ADMIN_EMAIL,
        ITEMHUB_FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        ITEMHUB_SECURE_COOKIES="true",
    )
    try:
        secure.wait_healthy()
        page = await _log_in(browser, secure, ADMIN_EMAIL, ADMIN_PASSWORD)
        await expect(
            page.get_by_role("banner").get_by_text("Administrator")
        ).to_be_visible()
        (cookie,) = await page.context.cookies()
        assert cookie["name"] == "__Host-session"
        assert (cookie["secure"], cookie["path"], cookie["domain"]) == (
            True,
            "/",
            "127.0.0.1",
        )
        await page.get_by_title("Log out").click()
        await page.wait_for_url(f"{secure.url}/login")
    finally:
        secure.stop()


async def _page_at(
    browser: Browser, server: Server, width: int, email: str, password: str
) -> Page:
    page = await _log_in(browser, server, email, password)
    await page.set_viewport_size({"width": width, "height": 800})
    return page


async def test_at_phone_width_the_navigation_is_a_menu(
    browser: Browser, server: Server
) -> None:
    page = await _page_at(browser, server, 375, ADMIN_EMAIL, ADMIN_PASSWORD)
    header = page.locator("header")
    audit_link = header.get_by_role("link", name="Audit")
    menu = page.get_by_test_id("nav-menu")

    await expect(audit_link).to_be_hidden()
    await expect(menu).to_be_visible()
    # Nothing in the header runs off the screen.
    overflow = await header.evaluate("h => h.scrollWidth - h.clientWidth")
    assert overflow <= 0

    await menu.click()
    await page.get_by_test_id("nav-audit").click()
    await page.wait_for_url(f"{server.url}/audit")


async def test_at_desktop_width_the_navigation_shows_its_links(
    browser: Browser, server: Server
) -> None:
    page = await _page_at(browser, server, 1400, ADMIN_EMAIL, ADMIN_PASSWORD)

    await expect(
        page.locator("header").get_by_role("link", name="Audit")
    ).to_be_visible()
    await expect(page.get_by_test_id("nav-menu")).to_be_hidden()
