"""/login and /logout."""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from itemhub.auth import (
    REDIS_UNAVAILABLE,
    AccountDeactivated,
    LoginFailed,
    LoginThrottled,
)
from itemhub.projections.store import DATABASE_UNAVAILABLE
from itemhub.runtime import Hub
from itemhub.ui.frame import frame
from itemhub.ui.session import (
    close_session,
    in_thread,
    open_session,
    safe_next,
    session_user,
)

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    """Declare the login and logout pages."""

    @ui.page("/login")
    async def login_page(request: Request, next: str = "/") -> RedirectResponse | None:
        target = safe_next(next)
        if await session_user(hub) is not None:
            return RedirectResponse(target, status_code=303)
        client_ip = request.client.host if request.client else "unknown"
        agent = request.headers.get("user-agent", "")

        def record(
            kind: str, email: str, detail: str = "", user_id: UUID | None = None
        ) -> None:
            hub.security.record(
                kind,
                channel="ui",
                ip=client_ip,
                user_agent=agent,
                email=email.lower(),
                user_id=user_id,
                detail=detail,
            )

        async def submit() -> None:
            email_value = (email.value or "").strip()
            if not email_value or not password.value:
                ui.notify("Enter your e-mail and password", type="warning")
                return
            try:
                user = await in_thread(
                    hub.auth.login, email_value, password.value, client_ip
                )
            except LoginThrottled as exc:
                await in_thread(record, "login_throttled", email_value)
                ui.notify(
                    f"Too many failed logins; try again in {exc.retry_after} s",
                    type="negative",
                )
                return
            except LoginFailed:
                await in_thread(record, "login_failed", email_value)
                ui.notify("Incorrect e-mail or password", type="negative")
                return
            except AccountDeactivated:
                await in_thread(record, "login_failed", email_value, "deactivated")
                ui.notify("This account is deactivated", type="negative")
                return
            except (*DATABASE_UNAVAILABLE, *REDIS_UNAVAILABLE) as exc:
                log.warning("login not possible, a store is unavailable: %s", exc)
                ui.notify(
                    "Logging in is not possible right now; retry in a moment",
                    type="negative",
                )
                return
            await in_thread(record, "login_succeeded", email_value, "", user.id)
            open_session(user)
            ui.navigate.to(target)

        with frame("Log in"):
            with ui.card().classes("w-full max-w-sm self-center mt-8 gap-3"):
                ui.label("Log in to ItemHub").classes("text-h6")
                email = (
                    ui.input("E-mail")
                    .props('autocomplete=username type=email data-testid="email"')
                    .classes("w-full")
                    .mark("email")
                )
                password = (
                    ui.input("Password", password=True, password_toggle_button=True)
                    .props('autocomplete=current-password data-testid="password"')
                    .classes("w-full")
                    .mark("password")
                )
                email.on("keydown.enter", submit)
                password.on("keydown.enter", submit)
                ui.button("Log in", on_click=submit).classes("w-full").props(
                    'data-testid="login"'
                ).mark("login")
        return None

    @ui.page("/logout")
    def logout_page() -> RedirectResponse:
        close_session()
        return RedirectResponse("/login", status_code=303)
