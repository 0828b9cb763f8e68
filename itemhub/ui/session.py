"""Who is logged in to this browser: a server-side session in ``app.storage.user``.

The session holds only the user id and the token version it was opened with;
every page load and every action checks both against the users read model, so
"log out everywhere", a password change or a deactivation ends it at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, ParamSpec, TypeVar
from urllib.parse import quote
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, run, ui

from itemhub.commands import Channel, Context
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub

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
    current = await in_thread(hub.auth.session_user, user.id, user.token_version)
    if current is None:
        ui.notify("Your session has ended; please log in again", type="warning")
        ui.navigate.to("/login")
        return False
    return True
