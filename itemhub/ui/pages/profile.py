"""/profile — one's own name, e-mail, password, and "log out everywhere"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from itemhub.commands import (
    ChangePassword,
    Command,
    CommandResult,
    LogOutEverywhere,
    UpdateUser,
)
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, send, user_page
from itemhub.ui.frame import frame
from itemhub.ui.session import (
    close_session,
)

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    """Declare ``/profile``."""

    @ui.page("/profile")
    async def profile_page(request: Request) -> Response | None:
        page = await user_page(hub, request)
        if not isinstance(page, OpenedPage):
            return page
        user, me = page.user, page.me

        client_ip = request.client.host if request.client else "unknown"

        async def run_command(command: Command, done: str) -> bool:
            return await _run(hub, user, client_ip, command, done)

        def logged_out() -> None:
            # The token version moved, so this session is over: forget it here
            # too (logout is a POST from a form, not a page to navigate to).
            close_session()
            ui.navigate.to("/login")

        with frame("Profile", me):
            with ui.card().classes("w-full max-w-lg"):
                ui.label("Profile").classes("text-h6")
                name = ui.input("Full name", value=me.full_name).classes("w-full")
                email = (
                    ui.input("E-mail", value=me.email)
                    .classes("w-full")
                    .mark("profile-email")
                )
                ui.button(
                    "Save profile",
                    on_click=lambda: run_command(
                        UpdateUser(
                            user_id=user.id,
                            full_name=name.value or "",
                            email=email.value or None,
                        ),
                        "Profile saved",
                    ),
                ).mark("save-profile")
            with ui.card().classes("w-full max-w-lg"):
                ui.label("Password").classes("text-h6")
                current = (
                    ui.input("Current password", password=True)
                    .classes("w-full")
                    .mark("current-password")
                )
                new = (
                    ui.input("New password", password=True)
                    .classes("w-full")
                    .mark("new-password")
                )

                async def change_password() -> None:
                    if await run_command(
                        ChangePassword(
                            user_id=user.id,
                            current_password=current.value or "",
                            new_password=new.value or "",
                        ),
                        "Password changed; log in again",
                    ):
                        logged_out()

                ui.button("Change password", on_click=change_password).mark(
                    "change-password"
                )
            with ui.card().classes("w-full max-w-lg"):
                ui.label("Sessions").classes("text-h6")
                ui.label("End every session and API token of yours, on every device.")

                async def everywhere() -> None:
                    if await run_command(
                        LogOutEverywhere(user_id=user.id), "Logged out everywhere"
                    ):
                        logged_out()

                ui.button(
                    "Log out everywhere", on_click=everywhere, color="negative"
                ).mark("logout-everywhere")
        return None


async def _run(
    hub: Hub, user: UserCredentials, client_ip: str, command: Command, done: str
) -> bool:
    """Run a command; a password check or a new e-mail is throttled like a login."""
    through: Callable[[Callable[[], CommandResult]], CommandResult] | None = None
    if isinstance(command, ChangePassword):
        through = partial(hub.auth.change_password, user, client_ip)
    elif isinstance(command, UpdateUser):
        through = partial(hub.auth.change_own_email, user, command.email, client_ip)
    result = await send(
        hub,
        user,
        command,
        through=through,
        unavailable="This is not possible right now; retry in a moment",
    )
    if result is None:
        return False
    ui.notify(done, type="positive")
    return True
