"""Who is logged in to this browser: a server-side session in ``app.storage.user``.

The session holds only the user id and the token version it was opened with;
every page load and every action checks both against the users read model, so
"log out everywhere", a password change or a deactivation ends it at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, ParamSpec, TypeVar
from urllib.parse import quote
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Event, app, run, ui

from itemhub.commands import Channel, Context
from itemhub.projections import Delta, UserCredentials
from itemhub.runtime import Hub, checked_session, users_stamp

SESSION_KEY = "session"

P = ParamSpec("P")
R = TypeVar("R")


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
    app.storage.user[SESSION_KEY] = {
        "user_id": str(user.id),
        "token_version": user.token_version,
    }


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
    user = await in_thread(hub.auth.session_user, user_id, version)
    if user is None:
        close_session()
    return user


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the login page, then back here."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def ui_context(user: UserCredentials) -> Context:
    """Commands from the UI act as the logged-in user, on channel ``ui``."""
    return Context(actor_id=user.id, channel=Channel.UI)


async def still_logged_in(hub: Hub, user: UserCredentials) -> bool:
    """Re-check before acting: an open tab of a revoked session cannot act.

    Checked against the user and token version the page was loaded with (not
    ``app.storage.user``, which belongs to HTTP requests, not to socket events).
    """
    return await SessionGuard(hub, user).check()


class SessionGuard:
    """Keeps an open page to what its user may do now, not at page load.

    Every live handler and every action of the page goes through one guard: it
    re-checks the token version and the role the page needs, and once they no
    longer hold it ends the page: a revoked session goes to the login page, a
    demoted superuser to the board, and a page showing what depends on the
    role is reloaded for the new one. A live update costs one comparison while
    the users stamp stays where the session last held: a command that changed
    a user returns only after the stamp moved, so every change made after it
    reaches the page after the stamp did (the cache's TTL is for changes this
    process cannot see, and those bring it no deltas either).
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
        # Batches that came while a check went to the database, in order.
        self._held: list[Sequence[Delta]] | None = None

    async def check(self) -> bool:
        """Whether the page may still act and show; if not, it is ended."""
        if self.ended:
            return False
        stamp = users_stamp(self.hub)
        current = await checked_session(
            self.hub, self.user.id, self.user.token_version, in_thread
        )
        holds = self._holds(current)
        if holds:
            self._stamp = stamp
        return holds

    async def follow(
        self,
        changed: Event[Sequence[Delta]],
        handler: Callable[[Sequence[Delta]], None],
    ) -> bool:
        """Pass the page's live deltas to ``handler`` while the session holds.

        Checked once now (at page load, not at the first delta in every tab),
        so the page is ended and False returned if it no longer holds.
        """
        changed.subscribe(self._guarded(handler))
        return await self.check()

    def _guarded(
        self, handler: Callable[[Sequence[Delta]], None]
    ) -> Callable[[Sequence[Delta]], Awaitable[None] | None]:
        def guarded(deltas: Sequence[Delta]) -> Awaitable[None] | None:
            if self.ended:
                return None
            if self._held is not None:
                self._held.append(deltas)
                return None
            stamp = users_stamp(self.hub)
            if stamp is not None and stamp == self._stamp:
                handler(deltas)
                return None
            # A user changed since the last check: NiceGUI awaits this one.
            self._held = [deltas]
            return self._release(handler)

        return guarded

    async def _release(self, handler: Callable[[Sequence[Delta]], None]) -> None:
        try:
            holds = await self.check()
        finally:
            held, self._held = self._held or [], None
        if holds:
            for deltas in held:
                handler(deltas)

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
