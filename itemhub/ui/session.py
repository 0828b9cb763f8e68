"""Who is logged in to this browser: a server-side session in ``app.storage.user``.

The session holds only the user id and the token version it was opened with;
every page load and every action checks both against the users read model, so
"log out everywhere", a password change or a deactivation ends it at once.
It also holds when it was opened and last used: idle and absolute timeouts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, ParamSpec, TypeVar
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Event, app, context, run, storage, ui
from nicegui.persistence import PersistentDict

from itemhub.commands import Channel, Context
from itemhub.config import Settings
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub, checked_session, users_stamp

SESSION_KEY = "session"
LOGIN_TICKET_KEY = "login_ticket"
# Long enough for the browser to follow the login's redirect, no longer.
LOGIN_TICKET_SECONDS = 60.0
# Stamping every check would write the session (to Redis) on every click.
SEEN_RESOLUTION_SECONDS = 60.0

# Seconds since the epoch; tests move it instead of sleeping.
clock: Callable[[], float] = time.time

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Ran(Generic[R]):
    """What a function returned in the thread (``None`` included)."""

    value: R


async def in_thread(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking work in a thread; raise ``CancelledError`` if it was not run."""
    # NiceGUI 3.x's run.io_bound swallows the cancellation of the awaiting
    # task (a page past its response timeout, a deleted client) and returns
    # None, as it does at shutdown; 4.0 raises instead. Boxing the result
    # tells that None apart from the function's own None ("no such user"),
    # so an aborted lookup is never mistaken for an answer.
    call = partial(fn, *args, **kwargs)

    def boxed() -> _Ran[R]:
        return _Ran(call())

    ran = await run.io_bound(boxed)
    if ran is None:
        raise asyncio.CancelledError
    return ran.value


def open_session(user: UserCredentials) -> None:
    """Remember a freshly authenticated user in this browser."""
    now = clock()
    app.storage.user[SESSION_KEY] = {
        "user_id": str(user.id),
        "token_version": user.token_version,
        "opened_at": now,
        "seen_at": now,
    }


def session_deadline(session: Mapping[str, Any], settings: Settings) -> float:
    """When a session ends by its idle or absolute timeout (seconds since the epoch)."""
    try:
        opened = float(session["opened_at"])
        seen = float(session["seen_at"])
    except (KeyError, ValueError, TypeError):
        return float("-inf")  # opened before sessions had timeouts
    return min(
        seen + settings.session_idle_minutes * 60,
        opened + settings.session_max_hours * 3600,
    )


def session_valid(session: Mapping[str, Any], settings: Settings, now: float) -> bool:
    """Whether a session is within its idle and absolute timeouts at ``now``."""
    return now < session_deadline(session, settings)


def _mark_seen(browser: PersistentDict, session: dict[str, Any], now: float) -> None:
    """Stamp the session as used (once a minute at most), unless it ended meanwhile."""
    if (
        now - float(session["seen_at"]) >= SEEN_RESOLUTION_SECONDS
        and browser.get(SESSION_KEY) == session
    ):
        browser[SESSION_KEY] = {**session, "seen_at": now}


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def issue_login_ticket(user: UserCredentials, target: str) -> str:
    """Hold a fresh login until this browser completes it over HTTP; the ticket.

    A login runs over the socket, which cannot set a cookie; the browser then
    opens ``/login/complete`` with the ticket, and that request gets the new
    session id. Kept in this browser's storage, so only a request bearing both
    this session's cookie and the ticket (which only this page saw) completes it.
    """
    ticket = secrets.token_urlsafe(32)
    page_storage()[LOGIN_TICKET_KEY] = {
        "digest": _digest(ticket),
        "user_id": str(user.id),
        "token_version": user.token_version,
        "next": target,
        "expires_at": clock() + LOGIN_TICKET_SECONDS,
    }
    return ticket


async def complete_login(hub: Hub, request: Request, ticket: str) -> str | None:
    """Open the ticket's session under a new session id; where to go, or None."""
    pending = app.storage.user.get(LOGIN_TICKET_KEY)
    if not isinstance(pending, dict) or not hmac.compare_digest(
        str(pending.get("digest")), _digest(ticket)
    ):
        return None
    await _rotate_session_id(request)  # single use: the ticket goes with it
    if float(pending["expires_at"]) < clock():
        return None
    user = await in_thread(
        hub.auth.session_user,
        UUID(pending["user_id"]),
        int(pending["token_version"]),
    )
    if user is None:
        return None  # deactivated or logged out everywhere meanwhile
    open_session(user)
    return safe_next(pending["next"])


async def _rotate_session_id(request: Request) -> None:
    """Empty this browser's storage and move it to a fresh, unguessable id.

    A session id planted in the browser before login (session fixation) then
    names an empty storage, never the logged-in session.
    """
    app.storage.user.clear()
    request.session["id"] = str(uuid4())
    # NiceGUI creates a browser's storage only for a request arriving with a
    # new id; it has no public call for an id given mid-request.
    await app.storage._create_user_storage(request.session["id"])


def end_session(request: Request) -> None:
    """Log this browser out: empty its storage and drop its session cookie.

    The next request gets a fresh session id from NiceGUI's middleware.
    """
    app.storage.user.clear()
    request.session.clear()


def close_session() -> None:
    """Forget the user of this browser."""
    app.storage.user.pop(SESSION_KEY, None)


async def session_user(hub: Hub) -> UserCredentials | None:
    """The logged-in user, if the session is still valid (else it is closed)."""
    # An aborted lookup raises CancelledError from in_thread: it says nothing
    # about the session, so the session stays open.
    session = app.storage.user.get(SESSION_KEY)
    if not isinstance(session, dict):
        return None
    try:
        user_id = UUID(str(session["user_id"]))
        version = int(session["token_version"])
    except (KeyError, ValueError, TypeError):
        close_session()
        return None
    now = clock()
    if not session_valid(session, hub.settings, now):
        close_session()
        return None
    user = await in_thread(hub.auth.session_user, user_id, version)
    if user is None:
        close_session()
    else:
        _mark_seen(app.storage.user, session, now)
    return user


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the login page, then back here."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site is followed after login (no open redirects)."""
    # Browsers drop tabs and newlines from a URL and read a backslash as a
    # slash: "/<TAB>/evil.example" and "/<BACKSLASH>evil.example" both lead
    # to "//evil.example", another host.
    if (
        target
        and target.isprintable()
        and "\\" not in target
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return "/"


def page_storage() -> PersistentDict:
    """The storage of the browser this page was loaded in, from any of its handlers."""
    # NiceGUI points app.storage.user at the page's request only for element
    # events a browser sends; a page's own request names its browser always.
    storage.request_contextvar.set(context.client.request)
    return app.storage.user


def ui_context(user: UserCredentials) -> Context:
    """Commands from the UI act as the logged-in user, on channel ``ui``."""
    return Context(actor_id=user.id, channel=Channel.UI)


async def still_logged_in(hub: Hub, user: UserCredentials) -> bool:
    """Re-check before acting: an open tab of a revoked session cannot act.

    Checked against the user and token version the page was loaded with, and
    against this browser's session (the page request's, which NiceGUI sets for
    socket events too): logged out, or timed out, the tab cannot act either.
    """
    return await SessionGuard(hub, user).check()


class SessionGuard:
    """Keeps an open page to what its user may do now, not at page load.

    Every live handler and every action of the page goes through one guard: it
    re-checks the token version and the role the page needs, and once they no
    longer hold it ends the page: a revoked session goes to the login page, a
    demoted superuser to the board, and a page showing what depends on the
    role is reloaded for the new one. This browser's session counts too: logged
    out here, or past its idle or absolute timeout, the page ends as well. A
    live update costs a few comparisons while the users stamp and the browser's
    session stay where the last check left them: a command that changed a user
    returns only after the stamp moved, so every change made after it reaches
    the page after the stamp did (the cache's TTL is for changes this process
    cannot see, and those bring it no deltas either).
    """

    def __init__(
        self, hub: Hub, user: UserCredentials, *, superuser: bool = False
    ) -> None:
        self.hub = hub
        self.user = user
        self.superuser = superuser
        self.ended = False
        # Where the users read model was when the session last held.
        self._stamp: Hashable | None = None
        # What came while a check went to the database, in order.
        self._held: list[Callable[[], None]] | None = None
        # This browser's storage, the session the last check saw in it, and
        # when that session times out.
        self._browser = page_storage()
        self._session: object = None
        self._deadline = float("-inf")

    async def check(self, *, acting: bool = True) -> bool:
        """Whether the page may still act and show; if not, it is ended.

        An action (``acting``) counts as use of the session; a live update not.
        """
        if self.ended:
            return False
        stamp = users_stamp(self.hub)
        now = clock()
        session = self._browser.get(SESSION_KEY)
        if (
            not isinstance(session, dict)
            or session.get("user_id") != str(self.user.id)
            or not session_valid(session, self.hub.settings, now)
        ):
            self._end("Your session has ended; please log in again", "/login")
            return False
        current = await checked_session(
            self.hub, self.user.id, self.user.token_version, in_thread
        )
        if self._browser.get(SESSION_KEY) != session:
            # Logged out (or in anew) in this browser while the check ran.
            self._end("Your session has ended; please log in again", "/login")
            return False
        holds = self._holds(current)
        if holds:
            if acting:
                _mark_seen(self._browser, session, now)
            self._stamp = stamp
            self._session = self._browser.get(SESSION_KEY)
            self._deadline = session_deadline(session, self.hub.settings)
        return holds

    def unchanged(self) -> bool:
        """Nothing the last check looked at has moved (no database, no awaiting)."""
        stamp = users_stamp(self.hub)
        return (
            stamp is not None
            and stamp == self._stamp
            and clock() < self._deadline
            and self._browser.get(SESSION_KEY) == self._session
        )

    async def follow(self, changed: Event[T], handler: Callable[[T], None]) -> bool:
        """Pass what ``changed`` emits to ``handler`` while the session holds.

        Checked once now (at page load, not at the first delta in every tab),
        so the page is ended and False returned if it no longer holds.
        """
        changed.subscribe(self._guarded(handler))
        return await self.check(acting=False)

    def _guarded(
        self, handler: Callable[[T], None]
    ) -> Callable[[T], Awaitable[None] | None]:
        def guarded(payload: T) -> Awaitable[None] | None:
            if self.ended:
                return None
            if self._held is not None:
                self._held.append(partial(handler, payload))
                return None
            if self.unchanged():
                handler(payload)
                return None
            # A user or the session changed since the last check: NiceGUI
            # awaits this one.
            self._held = [partial(handler, payload)]
            return self._release()

        return guarded

    async def _release(self) -> None:
        try:
            holds = await self.check(acting=False)
        finally:
            held, self._held = self._held or [], None
        if holds:
            for deliver in held:
                deliver()

    def _holds(self, current: UserCredentials | None) -> bool:
        if current is None:
            self._end("Your session has ended; please log in again", "/login")
        elif self.superuser and not current.is_superuser:
            self._end("Only superusers may see this page", "/")
        elif current.is_superuser != self.user.is_superuser:
            self._end("Your role has changed", None)
        else:
            self.user = current
            return True
        return False

    def _end(self, message: str, target: str | None) -> None:
        self.ended = True
        ui.notify(message, type="warning")
        if target is None:
            ui.navigate.reload()
        else:
            ui.navigate.to(target)
