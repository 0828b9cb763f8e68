"""UI sessions in NiceGUI's user simulation: login redirects, fixation, logout,
timeouts, and who may travel back in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate

from itemhub.commands import CreateItem, RegisterUser
from itemhub.config import secret_value
from itemhub.runtime import checked_session
from itemhub.ui import session
from itemhub.ui.session import safe_next
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_context
from tests.e2e.test_board_ui import _eventually
from tests.e2e.ui_helpers import (
    RETRIES,
    cookie_session_id,
    login,
    route_navigation,
    running_hub,
)

ALICE = ("alice@example.com", "alice-password")
# Where each of these sends a browser: off to evil.example, never to a path here.
OFF_SITE = [
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "\\\\evil.example",
    "evil.example",
]
IDLE = 20 * 60  # seconds, see short_sessions
MAX_AGE = 3600


def session_id(client: httpx.AsyncClient) -> str:
    """The NiceGUI session id in this browser's session cookie."""
    secret = secret_value(running_hub().settings.storage_secret)
    return cookie_session_id(client.cookies["session"], secret)


async def _register_alice() -> None:
    hub = running_hub()
    await asyncio.to_thread(
        hub.bus.handle,
        RegisterUser(email=ALICE[0], password=ALICE[1]),
        admin_context(hub),
    )


@pytest.fixture
def short_sessions(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions idle out after 20 minutes and end an hour after login."""
    del app_env
    monkeypatch.setenv("ITEMHUB_SESSION_IDLE_MINUTES", str(IDLE // 60))
    monkeypatch.setenv("ITEMHUB_SESSION_MAX_HOURS", str(MAX_AGE // 3600))


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Sessions see ``now[0]`` as the time; a test moves it instead of sleeping."""
    frozen = [1_000_000.0]
    # raising=False: on code without timeouts the test then fails on behaviour.
    monkeypatch.setattr(session, "clock", lambda: frozen[0], raising=False)
    return frozen


@pytest.mark.parametrize("target", OFF_SITE)
def test_only_a_path_of_this_site_is_followed_after_login(target: str) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/items/1/history?version=2", "/audit?q=a b"])
def test_a_path_of_this_site_is_kept_for_after_login(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("next_", ["/%5Cevil.example", "/%09/evil.example"])
async def test_logging_in_with_an_off_site_next_lands_on_the_board(
    app_env: Path, user: User, next_: str
) -> None:
    del app_env
    await user.open(f"/login?next={next_}")
    user.find(marker="email").type(ADMIN_EMAIL)
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login").click()
    await user.should_see(marker="current-user", retries=RETRIES)
    assert user.client is not None
    assert user.client.request.url.path == "/"


async def test_login_gives_the_browser_a_new_session_id(
    app_env: Path, user: User
) -> None:
    del app_env
    await user.open("/login")
    before = session_id(user.http_client)
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_id(user.http_client) != before


async def test_a_session_cookie_planted_before_login_stays_logged_out(
    app_env: Path, create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    del app_env
    attacker, victim = create_user(), create_user()
    route_navigation(monkeypatch, attacker, victim)
    await attacker.open("/login")
    planted = attacker.http_client.cookies["session"]
    # An attacker on a sibling subdomain or the network can set this cookie.
    victim.http_client.cookies.set("session", planted, domain="test.local")
    await login(victim, ADMIN_EMAIL, ADMIN_PASSWORD)
    await attacker.open("/")
    await attacker.should_see("Log in to ItemHub")
    await attacker.should_not_see(marker="current-user")
    # The victim's own browser is logged in, under another id.
    await victim.open("/")
    await victim.should_see(marker="current-user")
    assert victim.http_client.cookies["session"] != planted


async def test_a_forged_login_ticket_logs_nobody_in(app_env: Path, user: User) -> None:
    del app_env
    await user.open("/login")
    response = await user.http_client.get("/login/complete?ticket=forged")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?incomplete=true"
    await user.open("/login?incomplete=true")
    await user.should_see(marker="login-incomplete")
    await user.open("/")
    await user.should_see("Log in to ItemHub")


async def test_a_login_ticket_expires_after_a_minute(
    app_env: Path,
    user: User,
    monkeypatch: pytest.MonkeyPatch,
    now: list[float],
) -> None:
    del app_env
    # The browser is slow to follow the login's redirect: hold it.
    held: list[str] = []
    monkeypatch.setattr(
        UserNavigate, "to", lambda _self, target, _new_tab=False: held.append(target)
    )
    await user.open("/login")
    user.find(marker="email").type(ADMIN_EMAIL)
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login").click()
    await _eventually(lambda: bool(held))
    (link,) = held
    assert link.startswith("/login/complete?ticket=")
    now[0] += 61
    response = await user.http_client.get(link)
    assert response.headers["location"] == "/login?incomplete=true"
    await user.open("/")
    await user.should_see("Log in to ItemHub")


async def test_logout_is_a_post_from_our_own_pages_only(
    app_env: Path, user: User
) -> None:
    del app_env
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    # A link or an image elsewhere could send this GET: it changes nothing.
    response = await user.http_client.get("/logout")
    assert response.status_code == 405
    # A form on another site (or a sandboxed one, or no browser at all).
    for headers in (
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "null"},
        {},
    ):
        forged = await user.http_client.post("/logout", headers=headers)
        assert forged.status_code == 403, headers
        assert "<h1>403 — Forbidden</h1>" in forged.text
    await user.open("/")
    await user.should_see(marker="current-user")
    # The logout button posts the frame's form, from our own origin.
    form = next(iter(user.find(marker="logout").elements)).parent_slot
    assert form is not None
    assert form.parent.tag == "form"
    assert form.parent.props == {"method": "post", "action": "/logout"}
    before = session_id(user.http_client)
    response = await user.http_client.post("/logout", headers={"Origin": "http://test"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    await user.open("/")
    await user.should_see("Log in to ItemHub")
    assert session_id(user.http_client) != before


@pytest.mark.parametrize(
    ("fill", "button"),
    [
        (
            {"current-password": ALICE[1], "new-password": "alice-new-password"},
            "change-password",
        ),
        ({}, "logout-everywhere"),
    ],
    ids=["password-change", "log-out-everywhere"],
)
async def test_ending_ones_own_sessions_on_the_profile_page_lands_on_the_login(
    app_env: Path, user: User, fill: dict[str, str], button: str
) -> None:
    del app_env
    await _register_alice()
    await login(user, *ALICE)
    await user.open("/profile")
    for marker, text in fill.items():
        user.find(marker=marker).type(text)
    user.find(marker=button).click()
    await user.should_see("Log in to ItemHub", retries=RETRIES)
    assert user.back_history[-1] == "/login"
    await user.open("/profile")  # logged out: the profile is not shown
    await user.should_see("Log in to ItemHub")
    await user.should_not_see(marker="current-user")


async def test_an_idle_session_ends(
    short_sessions: None, user: User, now: list[float]
) -> None:
    del short_sessions
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    now[0] += IDLE - 10
    await user.open("/")  # activity: the idle time starts over
    await user.should_see(marker="current-user")
    now[0] += IDLE - 10
    await user.open("/")
    await user.should_see(marker="current-user")
    now[0] += IDLE
    await user.open("/")
    await user.should_see("Log in to ItemHub")


async def test_an_open_tab_acts_while_in_use_and_not_once_idled_out(
    short_sessions: None, user: User, now: list[float]
) -> None:
    del short_sessions
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    hub = running_hub()

    def add(title: str) -> None:
        user.find(marker="add-Todo").type(title).trigger("keydown.enter")

    def titles() -> list[str]:
        return [c.title for c in hub.read.board()["Todo"]]

    now[0] += IDLE - 10
    add("in time")  # an action in an open tab counts as activity
    await _eventually(lambda: titles() == ["in time"])
    now[0] += IDLE - 10
    add("still in time")
    await _eventually(lambda: titles() == ["in time", "still in time"])
    now[0] += IDLE
    head = hub.head()
    add("too late")
    await user.should_see("Your session has ended", retries=RETRIES)
    assert hub.head() == head
    await user.should_see("Log in to ItemHub", retries=RETRIES)


async def test_an_active_session_ends_at_its_maximum_age(
    short_sessions: None, user: User, now: list[float]
) -> None:
    del short_sessions
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    for minutes in (15, 15, 15, 14):  # 59 minutes after login, never idle long
        now[0] += minutes * 60
        await user.open("/")
        await user.should_see(marker="current-user")
    now[0] += 2 * 60
    await user.open("/")
    await user.should_see("Log in to ItemHub")


async def test_only_superusers_may_travel_back_in_time(
    app_env: Path, user: User
) -> None:
    del app_env
    hub = running_hub()
    await asyncio.to_thread(
        hub.bus.handle, CreateItem(title="past", column="Todo"), admin_context(hub)
    )
    await _register_alice()
    await login(user, *ALICE)
    await user.should_not_see("Time travel")
    for path in ("/timetravel", "/timetravel?position=1"):
        response = await user.http_client.get(path)
        assert response.status_code == 403, path
        assert "Only superusers may" in response.text
        assert "past" not in response.text
    await user.http_client.post("/logout", headers={"Origin": "http://test"})
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.should_see("Time travel")
    await user.open("/timetravel")
    await user.should_see("past", retries=RETRIES)


async def test_an_open_replay_tab_does_not_keep_its_session_from_idling_out(
    short_sessions: None,
    user: User,
    monkeypatch: pytest.MonkeyPatch,
    now: list[float],
) -> None:
    del short_sessions
    await login(user, ADMIN_EMAIL, ADMIN_PASSWORD)
    await user.open("/replay")
    await user.should_see(marker="projection-table", retries=RETRIES)
    checks = [0]
    looked_up = checked_session

    async def counted(*args: Any) -> Any:
        checks[0] += 1
        return await looked_up(*args)

    monkeypatch.setattr(session, "checked_session", counted)
    # The page refreshes every second while nobody uses it; were a refresh
    # counted as use, one of these would stamp the session as used.
    now[0] += IDLE - 30
    await _eventually(lambda: checks[0] >= 2)
    now[0] += 60
    await user.should_see("Log in to ItemHub", retries=RETRIES)
