"""What every page does to act or to open: check the session, send, say no."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from itemhub.auth import LoginThrottled
from itemhub.commands import (
    Command,
    CommandResult,
    Conflict,
    DomainError,
    StoreUnavailable,
)
from itemhub.projections import UserCredentials, UserView
from itemhub.runtime import Hub
from itemhub.ui.forbidden import forbidden_page
from itemhub.ui.session import (
    SessionGuard,
    in_thread,
    login_redirect,
    session_user,
    ui_context,
)

log = logging.getLogger(__name__)


async def send(
    hub: Hub,
    user: UserCredentials,
    command: Command,
    *,
    refused: str = "{}",
    conflict: Callable[[Conflict], str] | None = None,
    unavailable: str | None = None,
    guard: SessionGuard | None = None,
    through: Callable[[Callable[[], CommandResult]], CommandResult] | None = None,
) -> CommandResult | None:
    """Send a command if the session still holds; a refusal is shown, not raised.

    Returns None when nothing was done: the session ended (the guard handles
    it) or the command was refused (``refused`` formats the notice, and
    ``conflict`` words a stale version as a warning instead). ``through``
    wraps the sending, e.g. in a throttle that counts wrong passwords.
    """
    if not await (guard or SessionGuard(hub, user)).check():
        return None

    def deliver() -> CommandResult:
        return hub.commands.send(command, ui_context(user))

    try:
        if through is None:
            return await in_thread(deliver)
        return await in_thread(through, deliver)
    except Conflict as exc:
        if conflict is None:
            ui.notify(refused.format(exc), type="negative")
        else:
            ui.notify(conflict(exc), type="warning")
    except StoreUnavailable as exc:
        log.warning("a command could not run, a store is unavailable: %s", exc)
        outage = refused.format(f"the {exc.store} is unavailable, try again")
        ui.notify(unavailable or outage, type="negative")
    except LoginThrottled as exc:
        ui.notify(
            "Too many wrong passwords or refused e-mail addresses; "
            f"try again in {exc.retry_after} s",
            type="negative",
        )
    except DomainError as exc:
        ui.notify(refused.format(exc), type="negative")
    return None


@dataclass(frozen=True, slots=True)
class OpenedPage:
    """Who opened a page, as the read model knows them, and the guard that keeps it."""

    user: UserCredentials
    me: UserView
    guard: SessionGuard


async def user_page(hub: Hub, request: Request) -> OpenedPage | Response:
    """The logged-in opener of a page, or the way to the login page."""
    return await _opened(hub, request, None)


async def superuser_page(
    hub: Hub, request: Request, refusal: str
) -> OpenedPage | Response:
    """The opener of a superuser page, or the answer to anyone else."""
    return await _opened(hub, request, refusal)


async def _opened(
    hub: Hub, request: Request, superuser_refusal: str | None
) -> OpenedPage | Response:
    user = await session_user(hub)
    if user is None:
        return login_redirect(request)
    me = await in_thread(hub.queries.read.user, user.id)
    if superuser_refusal is not None and (me is None or not me.is_superuser):
        return forbidden_page(superuser_refusal)
    if me is None:
        return login_redirect(request)
    guard = SessionGuard(hub, user, superuser=superuser_refusal is not None)
    return OpenedPage(user, me, guard)
